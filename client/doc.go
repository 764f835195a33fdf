// Package client is udpchat's client engine: it holds one session with a
// server, sends messages reliably and reports what happens as Events. Like
// the server, it is wired with implementations of core's interfaces and
// imports none of them.
//
// The files follow the client's work:
//
//	handshake.go    KEY_REQ, cookies, KEY_REP, the server's proof of identity
//	verdict.go      a handshake given up on: why, and where the client goes next
//	unreachable.go  ICMP errors: a hint that ends a handshake, never a session
//	send.go         Send: checks, sealing, the reliability layer's flight
//	receive.go      read, decode, open, deliver, acknowledge
//	session.go      the engine's loop: timers, keepalives, reconnects, moving to another server, BYE
//	resume.go       the ticket: resuming a lost session, never showing a room message twice
//	event.go        what the client reports
package client
