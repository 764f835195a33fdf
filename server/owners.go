package server

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/identity"
)

// Client keys and what hangs on them: nicknames registered to a key
// (Registrations), and operators named by their key's fingerprint. A
// version 2 client may prove a key of its own in its KEY_REQ
// (identity.SignHello); the session then carries it, and the server acts on
// it only once the session is confirmed, since only the client that drew
// the hello can confirm it. Seed clients, and version 2 clients without a
// key, have none: they can neither register nor take a registered name.

// RegisterMode says when a nickname is registered to its holder's key.
type RegisterMode string

// The registration modes.
const (
	// RegisterAuto registers a nickname to the key of the first session
	// that holds it, as it takes it (at its handshake, or by /nick), and
	// allows /register too. The default.
	RegisterAuto RegisterMode = "auto"
	// RegisterCommand registers a nickname only when its holder says
	// /register.
	RegisterCommand RegisterMode = "command"
	// RegisterOff registers nothing: no name is protected, and
	// /register and /unregister are refused.
	RegisterOff RegisterMode = "off"
)

// RegisterModes lists the modes, for configuration errors.
var RegisterModes = []RegisterMode{RegisterAuto, RegisterCommand, RegisterOff}

// clientKey returns the key a version 2 KEY_REQ proves, nil if it carries
// none, or why the proof fails: a key without its signature, a signature
// without its key, or a signature that is not the key's over this very
// KEY_REQ's hello, offer and nickname.
func clientKey(p *core.Packet) (ed25519.PublicKey, error) {
	if len(p.ClientKey) == 0 && len(p.ClientSig) == 0 {
		return nil, nil
	}
	t := identity.Transcript{Hello: p.Payload, Suites: p.Suites, Nick: p.Nick, ClientKey: p.ClientKey}
	if err := identity.VerifyHello(t, p.ClientSig); err != nil {
		return nil, err
	}
	return ed25519.PublicKey(p.ClientKey), nil
}

// helloHash is what recognises a retried KEY_REQ: its payload, and the key
// it claims, so that the same hello under another key is another
// handshake, not a retry answered with a KEY_REP signed for the first.
func helloHash(p *core.Packet) [32]byte {
	h := sha256.New()
	h.Write(p.Payload)
	h.Write(p.ClientKey)
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// isOperator reports whether sess proved the key of one of the server's
// operators (Config.Operators). Moderation asks it.
func (s *Server) isOperator(sess *session) bool {
	return sess.key != nil && s.live.Load().operators[identity.Fingerprint(sess.key)]
}

// keyIDLocked names sess's key for moderation (moderation.go), "" without
// one. The key is fixed at the handshake; the name says it is read where
// the session's other state is.
func (sess *session) keyIDLocked() string {
	if sess.key == nil {
		return ""
	}
	return identity.Fingerprint(sess.key)
}

// shortKeyLocked is sess's key's short fingerprint, "" without one.
func (sess *session) shortKeyLocked() string {
	if sess.key == nil {
		return ""
	}
	return identity.ShortFingerprint(sess.key)
}

// refusedName says why key may not have the nickname name, "" if it may:
// a registered name is its key's alone.
func (s *Server) refusedName(name string, key ed25519.PublicKey) string {
	if s.regs == nil {
		return ""
	}
	owner := s.regs.Owner(name)
	if owner == nil || owner.Equal(key) {
		return ""
	}
	return fmt.Sprintf("nickname %q is registered to another key", name)
}

// owns reports whether name is registered to key.
func (s *Server) owns(key ed25519.PublicKey, name string) bool {
	return s.regs != nil && key != nil && s.regs.Owner(name).Equal(key)
}

// takeBack gives sess the name registered to its key that another session
// holds (the owner's client came back from another address, or restarted,
// before its old session ended), renaming the holder to a guest name and
// telling it why. It reports whether sess now holds the name here.
func (s *Server) takeBack(ctx context.Context, sess *session, name string) bool {
	holder := s.sessions.nick(name)
	if holder == nil || holder == sess || !s.owns(sess.key, name) {
		return false
	}
	guest, _ := s.guestNick("")
	if err := s.rename(ctx, holder, guest); err != nil {
		return false
	}
	s.notify(holder, core.KindError, fmt.Sprintf("nickname %q was taken back by another session of its key; you are %s", name, guest))
	s.log.Info("registered nickname taken back by its key", "name", name, "from", guest)
	return s.sessions.claim(sess, name)
}

// autoRegister registers name to sess's key when the server registers on
// first use, if it is free to register: not a guest name, nobody's yet.
// A name that cannot be registered stays the session's, unregistered.
func (s *Server) autoRegister(sess *session, name string) {
	if s.regs == nil || s.cfg.Register != RegisterAuto || sess.key == nil || isGuest(name) || s.regs.Owner(name) != nil {
		return
	}
	err := s.regs.Register(name, sess.key, s.cfg.Now())
	switch {
	case err == nil:
		s.log.Info("nickname registered on first use", "name", name, "key", identity.Fingerprint(sess.key))
	case errors.Is(err, ErrTooManyNames), errors.Is(err, ErrRegistryFull), errors.Is(err, ErrRegisteredToAnother):
	default:
		s.log.Error("nickname not registered", "name", name, "err", err)
	}
}

// isGuest reports whether name is of the form the server hands out
// (guestNick): those are the server's, never registered.
func isGuest(name string) bool {
	rest, ok := strings.CutPrefix(core.FoldName(name), "guest")
	return ok && !strings.ContainsFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
}

// register registers sess's nickname to its key (/register), or says why not.
func (s *Server) register(sess *session, arg string) error {
	sess.mu.Lock()
	name := sess.name
	sess.mu.Unlock()
	switch {
	case s.regs == nil:
		return &core.Rejection{Reason: "nickname registration is off on this server"}
	case strings.ContainsRune(arg, ' '), arg != "" && core.FoldName(arg) != core.FoldName(name):
		return &core.Rejection{Reason: fmt.Sprintf("usage: /register registers the nickname you have (%s); /nick NAME first for another", name)}
	case sess.key == nil:
		return &core.Rejection{Reason: "registering a nickname needs a client key, which your client did not prove (udpchat's own client has one)"}
	case s.sessions.nick(name) != sess:
		return &core.Rejection{Reason: "you have no nickname to register: /nick NAME first"}
	case isGuest(name):
		return &core.Rejection{Reason: "guest names are the server's, not registered: /nick NAME first"}
	}
	if s.regs.Owner(name).Equal(sess.key) {
		return &core.Rejection{Reason: fmt.Sprintf("%s is already registered to your key", name)}
	}
	err := s.regs.Register(name, sess.key, s.cfg.Now())
	switch {
	case err == nil:
		s.log.Info("nickname registered", "name", name, "key", identity.Fingerprint(sess.key))
		s.notify(sess, core.KindSystem, fmt.Sprintf("%s is registered to your key %s", name, identity.ShortFingerprint(sess.key)))
		return nil
	case errors.Is(err, ErrRegisteredToAnother), errors.Is(err, ErrRegistryFull), errors.Is(err, ErrTooManyNames):
		return &core.Rejection{Reason: fmt.Sprintf("%s not registered: %v", name, err)}
	default:
		s.log.Error("nickname not registered", "name", name, "err", err)
		return &core.Rejection{Reason: "the server could not save the registration: try again later"}
	}
}

// unregister frees a nickname registered to sess's key (/unregister [NAME],
// its own nickname by default), or says why not.
func (s *Server) unregister(sess *session, arg string) error {
	name := arg
	if name == "" {
		sess.mu.Lock()
		name = sess.name
		sess.mu.Unlock()
	}
	switch {
	case s.regs == nil:
		return &core.Rejection{Reason: "nickname registration is off on this server"}
	case strings.ContainsRune(name, ' ') || core.CheckNick(name) != nil:
		return &core.Rejection{Reason: "usage: /unregister [NAME]: NAME, or your nickname, registered to your key"}
	case sess.key == nil:
		return &core.Rejection{Reason: "you have no client key, so no nickname of yours is registered"}
	}
	err := s.regs.Unregister(name, sess.key)
	switch {
	case err == nil:
		s.log.Info("nickname unregistered", "name", name, "key", identity.Fingerprint(sess.key))
		s.notify(sess, core.KindSystem, fmt.Sprintf("%s is no longer registered", name))
		return nil
	case errors.Is(err, ErrNotRegistered), errors.Is(err, ErrRegisteredToAnother):
		// Whose it is is not said: nobody learns who owns what by asking.
		return &core.Rejection{Reason: fmt.Sprintf("%s is not registered to your key", name)}
	default:
		s.log.Error("nickname not unregistered", "name", name, "err", err)
		return &core.Rejection{Reason: "the server could not save the change: try again later"}
	}
}

// whois describes one user (/whois NAME): the short fingerprint of the key
// it proved, whether its name is registered to that key, its idle time and
// its protocol version.
func (s *Server) whois(name string) (string, error) {
	if name == "" || strings.ContainsRune(name, ' ') || len(name) > core.MaxName {
		return "", &core.Rejection{Reason: "usage: /whois NAME"}
	}
	sess := s.sessions.nick(name)
	if sess == nil || !sess.confirmed.Load() {
		if s.dir != nil {
			// A user of another server is not described: its key and
			// idle time are that server's.
			return "", &core.Rejection{Reason: "no such user on this server: " + name}
		}
		return "", noSuchUser(name)
	}
	sess.mu.Lock()
	name, away, chans := sess.name, sess.away, []string{core.Lobby}
	for _, c := range sess.chans {
		chans = append(chans, c.r.label())
	}
	sess.mu.Unlock()
	fields := []string{"no client key"}
	if sess.key != nil {
		fields[0] = "key " + identity.ShortFingerprint(sess.key)
		if s.owns(sess.key, name) {
			fields[0] += " (nickname registered to it)"
		}
	}
	idle := s.cfg.Now().Sub(time.Unix(0, sess.lastSeen.Load()))
	fields = append(fields, fmt.Sprintf("idle %s", max(idle.Truncate(time.Second), 0)),
		fmt.Sprintf("protocol %d", sess.version))
	fields = append(fields, "channels "+strings.Join(chans, " "))
	if away != "" {
		fields = append(fields, "away: "+away)
	}
	return name + ": " + strings.Join(fields, ", "), nil
}
