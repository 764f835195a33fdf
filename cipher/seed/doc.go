// Package seed is the seed's cipher suite, "rsa-aes-cbc-hmac": the construction
// every existing seed client and server speaks, byte for byte, so that udpchat
// interoperates with them in both directions. It is protocol version 1 of
// docs/PROTOCOL.md ("Version 1: the seed protocol"), and its test vectors
// (testdata/seed-vectors.json) come from the seed's Python/pycryptodome
// reference code.
//
// Handshake: the client sends its RSA-2048 public key as a PEM "PUBLIC KEY"
// (SubjectPublicKeyInfo) block, exactly as pycryptodome's export_key writes
// it; the server answers with a fresh 16-byte AES key wrapped in RSAES-OAEP
// with SHA-1, MGF1-SHA-1 and an empty label, pycryptodome's defaults.
//
// Messages: HMAC-SHA256(K, IV||CT) || IV || CT, with CT the AES-128-CBC
// encryption of the PKCS#7-padded plaintext under a fresh random IV, and K the
// same 16-byte key for both AES and HMAC. The receiver checks the length, then
// the tag in constant time, and only then decrypts and unpads, so a bad
// padding can never be told apart from a bad tag by an attacker who lacks the
// key (encrypt-then-MAC: no padding oracle).
//
// The construction has known weaknesses that version 1 cannot fix without
// breaking the seed's peers: the MAC does not cover the packet header (so the
// engine must refuse replays itself, by remembering Tag), one key serves both
// AES and HMAC, and the server is not authenticated. Where this package can be
// stricter than the seed without breaking it, it is: it refuses RSA keys under
// 2048 bits (the seed takes 512), absurdly large ones, and malformed PEM.
package seed
