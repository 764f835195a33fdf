// Package core is udpchat's contract: the Packet and Message types that flow
// between the layers, the interfaces every swappable part implements (Codec,
// Suite, Reliability, Transport, RoomLog, Handler and Middleware, the Room a
// handler sees), the typed registries that map configured names to implementations,
// the errors they share, and the wire limits every implementation observes.
//
// Core has no engine, does no I/O and imports nothing of this module:
// implementations (codec/, cipher/, reliability/, transport/) import core
// and nothing else of udpchat, and the engines (server/, client/) import
// core and no implementation. A packet takes one path through the layers,
// whatever is plugged in:
//
//	transport read → codec decode → session lookup → suite open →
//	reliability (ack, dedup, order) → handler chain → fan-out →
//	per-recipient suite seal → reliability (flight, retransmit) →
//	codec encode → transport write
//
// docs/DESIGN.md explains the layout, docs/EXTENDING.md how to add an
// implementation, docs/PROTOCOL.md the wire contract.
package core
