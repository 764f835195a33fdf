package client

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/identity"
	"github.com/udpchat/udpchat/internal/replay"
)

func (c *Client) handshaking() bool {
	return c.state == StateHandshaking || c.state == StateReconnecting
}

// startHandshake draws new keys and sends KEY_REQ, at once or after a
// wait. New keys make a new session on the server, which is how a client
// recovers after giving up on a message: the old session's receiver still
// waits for it.
func (c *Client) startHandshake(ctx context.Context, after time.Duration) error {
	init, err := c.cfg.NewInitiator()
	if err != nil {
		return fmt.Errorf("core: client: new handshake: %w", err)
	}
	p := &core.Packet{Type: core.TypeKeyReq, Payload: init.Hello()}
	if c.msgCodec != nil {
		// The nickname the client has, not the configured one: a reconnect
		// keeps what the server gave it, or what /nick made it.
		p.Version, p.Nick, p.Suites = 2, c.resume.nick, []string{c.cfg.Suite.Name()}
		p.Resume = c.resume.claim(p)
		if c.cfg.Identity != nil {
			p.ClientKey = c.cfg.Identity.Public().(ed25519.PublicKey)
			p.ClientSig = identity.SignHello(c.cfg.Identity, identity.Transcript{Hello: p.Payload, Suites: p.Suites, Nick: p.Nick})
		}
	}
	hello, err := c.cfg.Codec.Append(nil, p)
	if err != nil {
		return fmt.Errorf("core: client: encode KEY_REQ: %w", err)
	}
	c.state, c.init, c.keyReq, c.hello, c.helloRaw, c.cookies = StateHandshaking, init, p, hello, p.Payload, 0
	c.keys, c.snd, c.recv, c.info, c.tags, c.pingSeq, c.acksDue = nil, nil, nil, SessionInfo{}, replay.Tags{}, 0, 0
	c.lostProbes, c.lostNext = 0, time.Time{}
	c.hsTries, c.hsNext = 0, c.cfg.Now().Add(after)
	c.resume.live = false // until the new session tells its epoch
	c.log.Info("handshake started", "server", c.server().String(), "suite", c.cfg.Suite.Name(), "offer_version", max(p.Version, 1),
		"resume", len(p.Resume) != 0, "after", after)
	if after <= 0 {
		c.sendKeyReq(ctx, c.cfg.Now())
	}
	return nil
}

// sendKeyReq sends the handshake's next KEY_REQ, and says so: the wait
// for its answer doubles with each, up to maxHandshakeRTO (or the
// configured RTO, if longer).
func (c *Client) sendKeyReq(ctx context.Context, now time.Time) {
	c.hsTries++
	wait := c.backoff(c.hsTries - 1)
	if c.hsTries > 1 {
		c.log.Warn("no KEY_REP: sending KEY_REQ again", "attempt", c.hsTries, "next_wait", wait)
	}
	c.hsNext = now.Add(wait)
	c.write(c.hello)
	c.emit(ctx, AttemptEvent{Server: c.server(), Attempt: c.hsTries, Of: c.cfg.HandshakeRetries + 1, Wait: wait})
}

// maxCookies bounds the COOKIEs a client answers in one handshake: COOKIE
// is not authenticated, and a stranger's must not turn the client into a
// source of KEY_REQs.
const maxCookies = 3

// handleCookie sends KEY_REQ again at once, with the cookie a server under
// load asked for. The retry schedule goes on as before: a cookie proves the
// server is there, not that it will answer.
func (c *Client) handleCookie(p *core.Packet) {
	switch {
	case !c.handshaking() || c.keyReq.Version < 2:
		c.drop(c.server(), "COOKIE outside a version 2 handshake", nil)
		return
	case len(p.Cookie) == 0 || len(p.Cookie) > 64:
		c.drop(c.server(), "malformed COOKIE", fmt.Errorf("%d-byte cookie", len(p.Cookie)))
		return
	case c.cookies >= maxCookies:
		c.drop(c.server(), "too many COOKIEs in one handshake", nil)
		return
	}
	c.cookies++
	c.keyReq.Cookie = p.Cookie
	hello, err := c.cfg.Codec.Append(nil, c.keyReq)
	if err != nil {
		c.log.Error("encode KEY_REQ", "err", err)
		return
	}
	c.hello = hello
	c.log.Info("server under load: sending KEY_REQ again with its cookie")
	c.write(hello)
}

// handleKeyRep completes the handshake: in version 2 only once the server
// has proved its identity over the whole handshake and that identity is the
// one pinned.
func (c *Client) handleKeyRep(ctx context.Context, p *core.Packet) error {
	if !c.handshaking() {
		return nil // an answer to a retried KEY_REQ; the first one counted
	}
	info := SessionInfo{Server: c.server(), Version: 1, Suite: c.cfg.Suite.Name()}
	if p.Version >= 2 && c.msgCodec != nil {
		if p.Session == 0 || len(p.ServerKey) != ed25519.PublicKeySize || p.Suite != c.cfg.Suite.Name() {
			c.drop(c.server(), "malformed version 2 KEY_REP", nil)
			return nil
		}
		key := ed25519.PublicKey(p.ServerKey)
		t := identity.Transcript{
			Hello: c.helloRaw, Reply: p.Payload, Suites: []string{c.cfg.Suite.Name()}, Nick: p.Nick,
			Suite: p.Suite, SessionID: p.Session, ServerKey: key, ClientKey: c.keyReq.ClientKey,
		}
		err := identity.Verify(key, t, p.Sig)
		if err != nil && t.ClientKey != nil {
			// A server from before client keys ignores ours and signs
			// without it: the session is anonymous, which costs the
			// client its registered names there, nothing else.
			t.ClientKey = nil
			err = identity.Verify(key, t, p.Sig)
		}
		if err != nil {
			// Anyone can send a KEY_REP; only the server can sign one.
			c.drop(c.server(), "KEY_REP not signed by the key it carries", err)
			return nil
		}
		if c.cfg.Servers != nil {
			if err := c.cfg.Servers.Verify(c.server(), key); err != nil {
				return err
			}
		}
		info = SessionInfo{Server: c.server(), Version: 2, Session: p.Session, Nick: p.Nick, Suite: p.Suite, ServerKey: key, ClientKey: t.ClientKey}
	} else if c.msgCodec != nil {
		switch {
		case c.cfg.Servers != nil && c.cfg.Servers.Pinned(c.server()):
			return fmt.Errorf("%s: %w", c.server(), ErrDowngrade)
		case c.cfg.RequireV2:
			return fmt.Errorf("%s: %w", c.server(), ErrV1Server)
		}
	}
	keys, err := c.init.Finish(p.Payload, core.Handshake{Version: info.Version, SessionID: info.Session})
	if err != nil {
		c.drop(c.server(), "bad KEY_REP", err)
		return nil
	}
	c.keys, c.info, c.state, c.tried, c.failedHandshakes = keys, info, StateConnected, 1, 0
	clear(c.verdicts)
	layer := c.cfg.Reliability
	if info.Version < 2 && c.cfg.V1Reliability != nil {
		layer = c.cfg.V1Reliability
	}
	rc := c.cfg.ReliabilityConfig
	if info.Version >= 2 {
		// A version 2 session does not end because one message went
		// unacknowledged a few times: under heavy loss that happens, and a
		// new session would only resend what the old one may have accepted.
		// The sender persists, and the server's silence (three keepalives)
		// is what says it is gone.
		rc.Persist = true
	}
	c.snd = layer.NewSender(rc)
	c.recv = layer.NewReceiver(c.cfg.ReliabilityConfig)
	c.lastSent, c.lastHeard, c.heard = c.cfg.Now(), c.cfg.Now(), false
	c.log.Info("connected", "server", c.server().String(), "version", info.Version, "nick", info.Nick)
	if info.Version < 2 && c.msgCodec != nil {
		c.emit(ctx, NoticeEvent{Text: "the server speaks only protocol version 1 (the seed's): it is not authenticated, and messages to you are best effort"})
	}
	c.emit(ctx, StateEvent{State: StateConnected, Info: &info, Server: info.Server})
	if info.Version >= 2 {
		c.setNick(ctx, info.Nick)
		// Prove at once that we hold the keys: until then the server sends
		// us nothing, since our address might have been spoofed.
		c.ping(c.cfg.Now())
	}
	return nil
}

// backoff is the handshake's RTO doubled n times, up to maxHandshakeRTO
// (or the RTO itself, if longer).
func (c *Client) backoff(n int) time.Duration {
	limit := max(maxHandshakeRTO, c.cfg.HandshakeRTO)
	wait := c.cfg.HandshakeRTO
	for ; n > 0 && wait < limit; n-- {
		wait *= 2
	}
	return min(wait, limit)
}
