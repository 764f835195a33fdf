// Package fault wraps any core.Transport in one that misbehaves on purpose:
// it loses, duplicates, reorders and delays datagrams, in either direction,
// with probabilities and durations from a Config. The reliability layers and
// the engines are tested through it, over the memory transport or real UDP,
// because a loopback network never loses anything on its own.
//
// Faults are drawn from a seeded PCG generator (one per direction), so a
// sequence of writes from one goroutine meets the same faults on every run;
// only timing-dependent interleavings vary. Stats counts what was done, so a
// test can check that a fault really happened instead of passing by luck.
//
// Send-side faults act in WriteTo. A lost datagram is reported as written, as
// the network would. A delayed or held-back datagram is copied and written
// later from a timer; an error from that later write has nowhere to go and is
// discarded, again as on a network.
//
// Receive-side faults act between the inner transport and ReadFrom: on the
// first ReadFrom a goroutine starts reading the inner transport and feeds a
// bounded queue of QueueLen datagrams through the same fault machinery. When
// the Receive faults are all zero there is no goroutine and ReadFrom reads the
// inner transport directly.
//
// Delay and Jitter: each datagram is delivered Delay plus a uniform random
// [0, Jitter) after it was written (or read from the inner transport).
// Datagrams with equal delays keep their order, so only Jitter and Reorder
// reorder.
//
// Reorder: a datagram is held back with probability Reorder, when none is held
// already, and released right after the next datagram in the same direction,
// or after a hold of ReorderHold beyond its own delay if no next one comes.
//
// Close stops the timers and waits for the receive goroutine and any delivery
// under way, so nothing is delivered after it returns; datagrams still pending
// are discarded, like packets in flight when a host goes down.
package fault
