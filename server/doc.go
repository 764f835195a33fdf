// Package server is udpchat's server engine: it owns a transport and the
// sessions of the clients that talk to it, and relays their messages to the
// room through the handler chain. It is wired with implementations of the
// interfaces in core (codec, cipher suite, reliability layer, transport) and
// imports none of them.
//
// The files follow the stages a datagram passes, one way:
//
//	ingress.go    read (in batches where the transport can), decode, find
//	              the session, drop and log what is not ours
//	handshake.go  KEY_REQ → KEY_REP, cookies under load (cookie.go), nicknames
//	receive.go    open, reliability (ack, dedup, order), roaming
//	handlers.go   the handler chain's worker: the rate limit's wait (lag.go),
//	              input checks, commands (commands.go), plugins, then the room
//	fanout.go     the room: appending to its log, private messages,
//	              notices, announcements, presence (presence.go),
//	              back-pressure
//	cursor.go     each recipient a cursor in the room's log, read as its
//	              flight opens, a bundle to a DATA (bundle.go); history
//	              and resume place the cursor (handshake.go)
//	egress.go     seal, the reliability layer's flight, encode, write
//	timers.go     retransmissions, delayed messages' release, idle eviction
//	session.go    the session table, and how a session ends
//	room.go       the core.Room API that handlers and bots see
//
// docs/DESIGN.md draws the whole path; docs/PROTOCOL.md is the wire contract.
package server
