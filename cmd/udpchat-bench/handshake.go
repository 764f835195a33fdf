package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/core"
)

// HandshakeOptions shape a KEY_REQ blast.
type HandshakeOptions struct {
	Server  netip.AddrPort
	Codec   core.Codec
	Proto   uint8 // 2: version 2 KEY_REQs (nick, suites); 1: the seed's
	Sockets int   // source addresses, each with one KEY_REQ in flight
	Count   int   // KEY_REQs to send in all, at most
	Timeout time.Duration
	Wait    time.Duration // how long a socket waits for its KEY_REP
	Keys    *keyPool
}

// HandshakeResult is the server's handshake throughput: KEY_REPs answered
// a second, counted, never decrypted.
type HandshakeResult struct {
	Proto      uint8   `json:"proto"`
	Sockets    int     `json:"sockets"`
	Seconds    float64 `json:"seconds"`
	KeyReqs    uint64  `json:"key_reqs"`
	KeyReps    uint64  `json:"key_reps"`
	PerSec     float64 `json:"key_reps_per_s"`
	Unanswered uint64  `json:"unanswered"` // KEY_REQs whose KEY_REP did not come in time
	Other      uint64  `json:"other"`      // other datagrams (the server's notices to seed sessions)
	Cookies    uint64  `json:"cookies"`    // COOKIEs answered: the server was under load
	// Latency is from KEY_REQ sent to KEY_REP received, per answered one.
	Latency Summary `json:"latency_ms"`
}

// blastHandshakes sends precomputed KEY_REQs from many sockets, each
// waiting for its answer before sending the next, and counts KEY_REPs.
// Every KEY_REQ a socket sends carries another key than its last, since
// the server answers a repeated one from cache; each new one replaces the
// socket's previous session, so the server's table stays at one session
// a socket.
func blastHandshakes(ctx context.Context, o HandshakeOptions, progress func(done uint64)) (*HandshakeResult, error) {
	nkeys := len(o.Keys.inits)
	// Precompute one KEY_REQ per key and socket (the nick differs by socket).
	reqs := make([][]*core.Packet, o.Sockets)
	dgs := make([][][]byte, o.Sockets)
	for s := range o.Sockets {
		reqs[s], dgs[s] = make([]*core.Packet, nkeys), make([][]byte, nkeys)
		for k := range nkeys {
			p := &core.Packet{Type: core.TypeKeyReq, Payload: o.Keys.hello(k)}
			if o.Proto >= 2 {
				p.Version, p.Nick, p.Suites = 2, fmt.Sprintf("h%d", s), []string{seed.Name}
			}
			b, err := o.Codec.Append(nil, p)
			if err != nil {
				return nil, fmt.Errorf("handshake: encode KEY_REQ: %w", err)
			}
			reqs[s][k], dgs[s][k] = p, b
		}
	}
	conns := make([]*net.UDPConn, 0, o.Sockets)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range o.Sockets {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return nil, fmt.Errorf("handshake: %w", err)
		}
		conns = append(conns, c)
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	var budget atomic.Int64
	budget.Store(int64(o.Count))
	var reqN, repN, lostN, otherN, cookieN atomic.Uint64
	lat := NewRecorder(0)
	stop := context.AfterFunc(ctx, func() {
		for _, c := range conns {
			c.SetReadDeadline(time.Now())
		}
	})
	defer stop()
	start := time.Now()
	var wg sync.WaitGroup
	for s, conn := range conns {
		wg.Go(func() {
			buf := make([]byte, core.MaxDatagram+1)
			for k := s; ctx.Err() == nil && budget.Add(-1) >= 0; k++ {
				sent := time.Now()
				if _, err := conn.WriteToUDPAddrPort(dgs[s][k%nkeys], o.Server); err != nil {
					return
				}
				reqN.Add(1)
				conn.SetReadDeadline(sent.Add(o.Wait))
				cookies := 0
				for {
					n, _, err := conn.ReadFromUDPAddrPort(buf)
					if err != nil {
						if ctx.Err() == nil {
							lostN.Add(1) // timed out
						}
						break
					}
					p, err := o.Codec.Decode(buf[:n])
					if err == nil && p.Type == core.TypeKeyRep {
						lat.Add(time.Since(sent))
						progress(repN.Add(1))
						break
					}
					if err == nil && p.Type == core.TypeCookie && cookies < 3 {
						// A server under load: answer as a client does,
						// with the same KEY_REQ and the cookie.
						cookies++
						cookieN.Add(1)
						req := *reqs[s][k%nkeys]
						req.Cookie = p.Cookie
						if b, err := o.Codec.Append(nil, &req); err == nil {
							if _, err := conn.WriteToUDPAddrPort(b, o.Server); err == nil {
								reqN.Add(1)
							}
						}
						continue
					}
					otherN.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	r := &HandshakeResult{
		Proto: o.Proto, Sockets: o.Sockets, Seconds: round3(elapsed.Seconds()),
		KeyReqs: reqN.Load(), KeyReps: repN.Load(), Unanswered: lostN.Load(), Other: otherN.Load(), Cookies: cookieN.Load(),
		PerSec: round1(float64(repN.Load()) / elapsed.Seconds()), Latency: lat.Summary(),
	}
	return r, nil
}
