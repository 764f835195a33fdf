// Package core is the heart of udpchat: the interfaces every swappable layer
// implements (Codec, Suite, Reliability, Transport, Handler), the Packet and
// Message types that flow between them, the registries that map configured names
// to implementations, and the server and client engines that wire them together.
//
// Core imports no implementation. A packet takes one path through the layers,
// whatever is plugged in:
//
//	transport read → codec decode → session lookup → suite open →
//	reliability (ack, dedup, order) → handler chain → fan-out →
//	per-recipient suite seal → reliability (queue, retransmit) →
//	codec encode → transport write
//
// The wire contract is in docs/PROTOCOL.md.
package core
