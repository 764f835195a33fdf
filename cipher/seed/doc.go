// Package seed is the seed's cipher suite, "rsa-aes-cbc-hmac". In protocol
// version 1 it is the construction every existing seed client and server
// speaks, byte for byte, so that udpchat interoperates with them in both
// directions: docs/PROTOCOL.md, "Version 1: the seed protocol", whose test
// vectors (testdata/seed-vectors.json) come from the seed's Python/pycryptodome
// reference code. In protocol version 2 the same handshake keys a stronger
// message construction, below. [core.Handshake] says which version to key.
//
// # Handshake (both versions)
//
// The client sends its RSA-2048 public key as a PEM "PUBLIC KEY"
// (SubjectPublicKeyInfo) block, exactly as pycryptodome's export_key writes
// it (no trailing newline); this is hello, the KEY_REQ payload. The server
// answers with a fresh random 16-byte key K wrapped in RSAES-OAEP with SHA-1,
// MGF1-SHA-1 and an empty label, pycryptodome's defaults; this ciphertext is
// reply, the KEY_REP payload.
//
// # Version 1 messages
//
//	payload = HMAC-SHA256(K, IV || CT) || IV || CT
//	IV      = 16 fresh random bytes
//	CT      = AES-128-CBC(K, IV, PKCS#7(plaintext))
//
// K serves both AES and HMAC, in both directions. The associated data (the
// packet header) is ignored: the seed's peers would reject anything else.
// Tag returns the 32-byte HMAC tag, for the engine to refuse replays.
//
// # Version 2 keys
//
// K is the handshake secret. Four keys are derived from it with HKDF-SHA256
// (RFC 5869), each as HKDF(salt, IKM, info, L) = HKDF-Expand(HKDF-Extract(salt,
// IKM), info, L):
//
//	salt = uint64be(session id)                      8 bytes
//	IKM  = K                                         16 bytes
//	TH   = SHA-256(uint64be(len(hello)) || hello || reply)
//	info = "udpchat v2 rsa-aes-cbc-hmac " || label || TH
//
//	label       L   key
//	"c2s-enc"  16   AES-128 key, client to server
//	"c2s-mac"  32   HMAC-SHA256 key, client to server
//	"s2c-enc"  16   AES-128 key, server to client
//	"s2c-mac"  32   HMAC-SHA256 key, server to client
//
// uint64be(x) is x as 8 bytes, big-endian. The info strings are ASCII text
// (the prefix ends in one space; the labels carry no quotes or terminator)
// followed by the 32 raw bytes of TH, so each info is 28 + 7 + 32 = 67 bytes.
// hello and reply are the KEY_REQ and KEY_REP payloads exactly as sent (the
// PEM text and the OAEP ciphertext, after any base64 of the codec is undone),
// so the keys bind the whole key exchange, not just K: a hello respelled
// (another PEM form of the same key) or a reply re-wrapped gives other keys.
// The server seals with the s2c keys and opens with the c2s keys; the client
// the reverse, so a payload cannot be reflected back to its sender.
//
// # Version 2 messages
//
//	payload = tag || IV || CT
//	IV      = 16 fresh random bytes
//	CT      = AES-128-CBC(enc, IV, PKCS#7(plaintext))
//	tag     = HMAC-SHA256(mac, uint64be(len(ad)) || ad || IV || CT)
//
// with enc and mac the sender's direction's keys and ad the associated data:
// the packet header, [core.Packet.AD] (26 bytes: type, flags, session id, seq,
// ack_seq). The length prefix makes the split between ad and IV unambiguous.
// The layout and the sizes are those of version 1, so the overhead is the same
// (49 to 64 bytes). Tag returns nil: a payload replayed under another seq,
// type or session does not open, and a duplicate under the same header is
// one the engine's receiver has already seen by its seq.
//
// # Opening (both versions)
//
// The receiver checks the length (at least 32 + 16 + 16 bytes, the ciphertext
// a whole number of 16-byte blocks), then the tag in constant time, and only
// then decrypts and unpads, so a bad padding can never be told apart from a bad
// tag by an attacker who lacks the key (encrypt-then-MAC: no padding oracle).
// Every failure wraps core.ErrAuth.
//
// Any protocol version but 1 and 2 (0 counts as 1) is refused by Respond and
// Finish.
//
// The version 1 construction has known weaknesses it cannot fix without
// breaking the seed's peers: the MAC does not cover the packet header (so the
// engine must refuse replays itself, by remembering Tag), one key serves both
// AES and HMAC and both directions, and the server is not authenticated
// (in version 2 the server signs the handshake, outside this package). Where this
// package can be stricter than the seed without breaking it, it is: it refuses
// RSA keys under 2048 bits (the seed takes 512), absurdly large ones, and
// malformed PEM.
package seed
