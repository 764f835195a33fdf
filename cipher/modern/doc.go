// Package modern is the cipher suite "x25519-chacha20poly1305": an
// ephemeral-ephemeral X25519 key agreement, HKDF-SHA256 key derivation and
// ChaCha20-Poly1305 sealing with the packet header as associated data. It
// speaks protocol version 2 only; a seed peer cannot use it.
//
// # Handshake
//
// The hello (KEY_REQ payload) is the client's ephemeral X25519 public key and
// the reply (KEY_REP payload) the server's, 32 bytes each. Both sides compute
// the shared secret Z and derive, for each direction,
//
//	key = HKDF-SHA256(salt = uint64be(session id), IKM = Z,
//	                  info = "udpchat v2 x25519-chacha20poly1305 " || label || SHA-256(hello || reply),
//	                  L = 32)
//
// with label "c2s" (client to server) or "s2c" (server to client). Both
// payloads are exactly 32 bytes, so hello || reply splits one way only. A
// hello or reply that is not 32 bytes, or whose point is of low order (the
// shared secret would be all zeros), is refused.
//
// # Messages
//
// Seal outputs uint64be(counter) || ChaCha20-Poly1305(key, nonce, plaintext,
// ad), where nonce = 4 zero bytes || uint64be(counter) and counter counts the
// seals of that direction from 0. The counter is taken under a mutex and never
// wraps, so a nonce never repeats under a key. Open takes the counter from
// the sealing and does not track it: replays are refused by the engine, whose
// header seq is bound into the seal through ad.
//
// # Forward secrecy, and its limits
//
// Both key pairs are ephemeral: the client makes one per handshake, the
// server one per session (per Respond), and neither is stored anywhere but in
// memory for the length of the handshake. Once the session keys are derived,
// the server drops its private key at the end of Respond and the client at
// the end of a successful Finish, and the engine calls Erase on the session's
// keys when the session ends. The server's long-term Ed25519 identity key
// (see identity) only signs the handshake transcript; it never enters
// the key agreement, so stealing it later lets an attacker impersonate the
// server in future sessions but not decrypt recorded ones.
//
// What this does not give: Go cannot zero the memory of a crypto/ecdh private
// key (its scalar is unexported, and the runtime may have copied it), nor the
// key copy that the ChaCha20-Poly1305 AEAD keeps inside itself. Dropping the
// references leaves that memory to the garbage collector, which does not
// clear it. Erase zeroes the key bytes this package holds; a process memory
// dump taken during or shortly after a session may still reveal its keys.
package modern
