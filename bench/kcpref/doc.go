// Command kcpref measures kcp-go against udpchat's window reliability layer
// over the same emulated link (issue 19, "As fast as KCP on a bad link"):
// udpchat's transport/memory network behind transport/fault, seeded loss
// and a fixed delay each way, the same seed for every row. It prints one
// markdown table: messages a second delivered in order, datagrams sent a
// message, and latency p50 and p99, at each loss, for kcp-go v5.7.5 in
// turbo and fast modes and udpchat's window layer over one hop, and for
// KCP relayed and udpchat's server relaying over two.
//
// It is a module of its own, so that udpchat's module does not depend on
// kcp-go; run it from this folder:
//
//	cd bench/kcpref && go run . [-n 5000] [-seed 1] [-quick]
//
// README.md says what each row runs and what it counts.
package main
