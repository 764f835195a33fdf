package core

import (
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// The bounds every codec holds a packet's and a message's fields to, on
// encode and on decode, so that whatever one codec carries every other can,
// and no peer makes a decoder keep more than these.
const (
	// MaxName bounds a nickname, a suite name and a message's From and To,
	// in bytes: room for any nickname the server accepts (MaxNick is 16)
	// even in multi-byte UTF-8, and for any suite name.
	MaxName = 64
	// MaxSuites bounds a KEY_REQ's offer, which the server walks against
	// its own list: the project has two suites; 16 leaves room to grow.
	MaxSuites = 16
	// MaxKeyBytes bounds ServerKey, Sig, Cookie, ClientKey and ClientSig: an Ed25519 key is 32
	// bytes, its signature 64 and a cookie 16; 256 leaves room for another
	// scheme.
	MaxKeyBytes = 256
)

// The wall clock a message can carry: Unix milliseconds, non-negative (no
// chat predates 1970, and refusing a sign keeps one reader for every
// integer field) and an int64, which is what time.UnixMilli takes.
var (
	MinMessageTime = time.UnixMilli(0)
	MaxMessageTime = time.UnixMilli(math.MaxInt64)
)

// FieldNamer names a field as a codec's errors do: field, or entry idx of
// a list field when idx >= 0 (JSON says "suites"[1], protobuf suites[1]).
type FieldNamer func(field string, idx int) string

// CheckV2 refuses the version 2 fields of p that break the bounds above or
// are not UTF-8, naming the field with name: "nick" of 65 bytes, at most 64.
// A codec calls it before it writes anything and wraps the error with its
// own name ("codec/json: cannot encode %w").
func CheckV2(p *Packet, name FieldNamer) error {
	if err := CheckName(p.Nick, "nick", -1, name); err != nil {
		return err
	}
	if len(p.Suites) > MaxSuites {
		return fmt.Errorf("%d suites, at most %d", len(p.Suites), MaxSuites)
	}
	for i, s := range p.Suites {
		if err := CheckName(s, "suites", i, name); err != nil {
			return err
		}
	}
	if err := CheckName(p.Suite, "suite", -1, name); err != nil {
		return err
	}
	if err := checkKey(p.ServerKey, "server_key", name); err != nil {
		return err
	}
	if err := checkKey(p.Sig, "sig", name); err != nil {
		return err
	}
	if err := checkKey(p.Cookie, "cookie", name); err != nil {
		return err
	}
	if err := checkKey(p.ClientKey, "client_key", name); err != nil {
		return err
	}
	if err := checkKey(p.ClientSig, "client_sig", name); err != nil {
		return err
	}
	if len(p.Resume) != 0 && len(p.Resume) != ResumeLen {
		return fmt.Errorf("%s of %d bytes, want %d or none", name("resume", -1), len(p.Resume), ResumeLen)
	}
	return nil
}

// checkKey refuses a ServerKey, Sig, Cookie, ClientKey or ClientSig of more than MaxKeyBytes.
func checkKey(b []byte, field string, name FieldNamer) error {
	if len(b) > MaxKeyBytes {
		return fmt.Errorf("%s of %d bytes, at most %d", name(field, -1), len(b), MaxKeyBytes)
	}
	return nil
}

// CheckName refuses a name (nick, suite, from, to) of more than MaxName
// bytes, or not UTF-8, naming the field with name.
func CheckName(s, field string, idx int, name FieldNamer) error {
	if len(s) > MaxName {
		return fmt.Errorf("%s of %d bytes, at most %d", name(field, idx), len(s), MaxName)
	}
	return CheckText(s, field, idx, name)
}

// CheckText refuses a string that is not UTF-8: a text codec cannot carry
// it, and replacing the bad bytes would change what the sender said.
func CheckText(s, field string, idx int, name FieldNamer) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s: not valid UTF-8", name(field, idx))
	}
	return nil
}
