package identity

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
)

// keyType is the key type word of a known_servers line.
const keyType = "ed25519"

// knownServersHeader starts a known_servers file that Check creates.
const knownServersHeader = "# udpchat known servers: one line per server, \"<name>[,<address>] ed25519 <base64 public key>\".\n" +
	"# Written on first connection to each server; a changed key is refused unless accepted with --accept-new-key.\n"

// Pin is the outcome of KnownServers.Check for a key the server presented.
type Pin int

const (
	// PinKnown means the key matches the one pinned for the server.
	PinKnown Pin = iota + 1
	// PinNew means the server had no pinned key (first use); the key was
	// appended to the file.
	PinNew
	// PinReplaced means the server's pinned key differed and, as asked, the
	// presented key replaced it in the file.
	PinReplaced
	// PinNamed means the server's name was not pinned but its address
	// was, with the same key: the name was added to the file.
	PinNamed
)

// String returns "known", "new" or "replaced".
func (p Pin) String() string {
	switch p {
	case PinKnown:
		return "known"
	case PinNew:
		return "new"
	case PinReplaced:
		return "replaced"
	case PinNamed:
		return "named"
	default:
		return fmt.Sprintf("Pin(%d)", int(p))
	}
}

// KnownServers is the client's known_servers file, which pins each server
// address to the identity key it presented first (trust on first use, like
// SSH's known_hosts).
//
// The file is text, one server per line:
//
//	<server>[,<server>...] ed25519 <public key, standard base64 with padding>
//
// separated by spaces or tabs, e.g.
//
//	chat.example.org:9000,192.0.2.7:9000 ed25519 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
//
// As in SSH's known_hosts, a line names the server as the user gave it
// and then the address that name resolved to (CheckName); a line of one
// address, as earlier versions wrote, still reads. Each server is compared
// as an exact string, so callers should pass it in one canonical form
// (net.JoinHostPort of the configured host and port). Blank
// lines and lines whose first non-blank character is '#' are ignored and
// kept when the file is rewritten; there are no trailing comments. Any other
// line that is not a valid entry, or a second entry for the same server, makes
// the whole file unusable: Check and Lookup return an error naming the file
// and the line, to be fixed by hand.
type KnownServers struct {
	// Path is the file; it need not exist yet. DefaultKnownServersPath gives
	// the usual place.
	Path string
}

// KeyMismatchError is returned by KnownServers.Check when a server presents a
// key other than the one pinned for it, and the new key was not accepted.
type KeyMismatchError struct {
	// Server is the server, as passed to Check.
	Server string
	// Known is the key pinned in the file; Presented is the key the server
	// presented.
	Known, Presented ed25519.PublicKey
	// Path is the known_servers file.
	Path string
	// Address, when set, is the address Server resolved to: Server itself
	// is not pinned, but Address is, with the key Known.
	Address string
}

// Error says, in one line, which server changed keys, both fingerprints, the
// file, and how to accept the new key.
func (e *KeyMismatchError) Error() string {
	if e.Address != "" {
		return fmt.Sprintf("server %s presented identity key %s; that name is new, but %s pins key %s for the address it resolved to, %s: "+
			"the name may point somewhere it should not (DNS), or the server's key was replaced; "+
			"if you trust the new key, reconnect with --accept-new-key",
			e.Server, Fingerprint(e.Presented), e.Path, Fingerprint(e.Known), e.Address)
	}
	return fmt.Sprintf("server %s presented identity key %s, but %s pins key %s for it: "+
		"someone may be intercepting the connection, or the server's key was replaced; "+
		"if you trust the new key, reconnect with --accept-new-key",
		e.Server, Fingerprint(e.Presented), e.Path, Fingerprint(e.Known))
}

// Check pins pub as server's identity key, by that one name: CheckName
// with no address.
func (k KnownServers) Check(server string, pub ed25519.PublicKey, acceptNew bool) (Pin, error) {
	return k.CheckName(server, "", pub, acceptNew)
}

// CheckName pins pub as the identity key of the server the user named name
// (host:port as given), which resolved to addr, as SSH pins a host by
// name and address. The name decides: if the file pins the same key for
// it, CheckName returns PinKnown. If it pins none for the name but pins
// addr, a DNS answer may have moved the name: the same key adds the name
// (PinNamed); another is a *KeyMismatchError naming the address, never a
// first use. If neither is pinned, it appends a line "name,addr" (creating
// the file with mode 0600, and its directories with mode 0700, if needed)
// and returns PinNew. A pinned key other than pub is a *KeyMismatchError
// unless acceptNew is set: then the name and addr move to a new line
// (rewriting the file atomically, every other line kept) and it returns
// PinReplaced. An empty addr, or one equal to name, pins by name alone.
func (k KnownServers) CheckName(name, addr string, pub ed25519.PublicKey, acceptNew bool) (Pin, error) {
	names := []string{name}
	if addr != "" && addr != name {
		names = append(names, addr)
	}
	for _, n := range names {
		if err := checkServer(n); err != nil {
			return 0, err
		}
	}
	if len(pub) != ed25519.PublicKeySize {
		return 0, fmt.Errorf("server %s presented an identity key of %d bytes, want %d", name, len(pub), ed25519.PublicKeySize)
	}
	// Read, decided and written under the lock: another client may be
	// meeting the same server at this moment.
	if err := os.MkdirAll(filepath.Dir(k.Path), 0o700); err != nil {
		return 0, fmt.Errorf("known_servers: %w", err)
	}
	unlock, err := lockDir(filepath.Dir(k.Path))
	if err != nil {
		return 0, fmt.Errorf("known_servers: lock %s: %w", k.Path, err)
	}
	defer unlock()
	f, err := k.read()
	if err != nil {
		return 0, err
	}
	pin := PinReplaced
	if e, ok := f.entries[name]; ok {
		if bytes.Equal(e.key, pub) {
			return PinKnown, nil
		}
		if !acceptNew {
			return 0, &KeyMismatchError{Server: name, Known: e.key, Presented: bytes.Clone(pub), Path: k.Path}
		}
	} else if e, ok := f.entries[addr]; ok && len(names) > 1 {
		switch {
		case bytes.Equal(e.key, pub):
			pin = PinNamed
		case !acceptNew:
			return 0, &KeyMismatchError{Server: name, Address: addr, Known: e.key, Presented: bytes.Clone(pub), Path: k.Path}
		}
	} else {
		if err := k.appendEntry(f, names, pub); err != nil {
			return 0, err
		}
		return PinNew, nil
	}
	if err := WriteAtomic(k.Path, f.repin(names, pub), f.perm); err != nil {
		return 0, fmt.Errorf("known_servers: pinning the key of %s in %s: %w", name, k.Path, err)
	}
	return pin, nil
}

// repin returns the file with names taken off the lines that hold them (a
// line left with none goes) and a line pinning pub for them in the place
// of the first of those lines.
func (f *knownFile) repin(names []string, pub ed25519.PublicKey) []byte {
	touched := map[int]knownEntry{}
	for _, n := range names {
		if e, ok := f.entries[n]; ok {
			touched[e.line] = e
		}
	}
	var out []string
	placed := false
	for i, line := range f.lines {
		e, ok := touched[i]
		if !ok {
			out = append(out, line)
			continue
		}
		if !placed {
			out, placed = append(out, formatEntry(names, pub)), true
		}
		rest := slices.DeleteFunc(slices.Clone(e.names), func(n string) bool { return slices.Contains(names, n) })
		if len(rest) > 0 {
			out = append(out, formatEntry(rest, e.key))
		}
	}
	return []byte(strings.Join(out, "\n") + "\n")
}

// Lookup returns the key pinned for server, if any. A missing file pins
// nothing. The engine uses it to refuse a version 1 fallback (which has no
// server authentication) from a server whose key is pinned.
func (k KnownServers) Lookup(server string) (ed25519.PublicKey, bool, error) {
	if err := checkServer(server); err != nil {
		return nil, false, err
	}
	f, err := k.read()
	if err != nil {
		return nil, false, err
	}
	e, ok := f.entries[server]
	if !ok {
		return nil, false, nil
	}
	return e.key, true, nil
}

// checkServer refuses a server name that cannot be written on a line.
func checkServer(server string) error {
	if server == "" {
		return errors.New("known_servers: empty server address")
	}
	if strings.HasPrefix(server, "#") || strings.IndexFunc(server, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == ','
	}) >= 0 {
		return fmt.Errorf("known_servers: server address %q cannot be recorded (it starts with # or contains spaces, commas or control characters)", server)
	}
	return nil
}

// formatEntry returns the line that pins pub for names.
func formatEntry(names []string, pub ed25519.PublicKey) string {
	return strings.Join(names, ",") + " " + keyType + " " + base64.StdEncoding.EncodeToString(pub)
}

// knownEntry is one parsed line.
type knownEntry struct {
	names []string // the servers it pins: a name, then an address
	key   ed25519.PublicKey
	line  int // index into knownFile.lines
}

// knownFile is the parsed file.
type knownFile struct {
	exists bool
	// lines are the file's lines without their "\n" (a "\r" before it is
	// kept); a final newline does not make an empty last line.
	lines []string
	// endsInNewline is whether the file is empty or ends in "\n".
	endsInNewline bool
	// perm is the file's permission bits, kept when it is rewritten.
	perm    fs.FileMode
	entries map[string]knownEntry
}

// read reads and parses the file; a missing file is empty.
func (k KnownServers) read() (*knownFile, error) {
	f := &knownFile{perm: 0o600, endsInNewline: true, entries: map[string]knownEntry{}}
	if k.Path == "" {
		return nil, errors.New("known_servers: no file configured")
	}
	if err := k.CheckModes(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(k.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("known_servers: %w", err)
	}
	f.exists = true
	if st, err := os.Stat(k.Path); err == nil {
		f.perm = st.Mode().Perm()
	}
	if len(data) == 0 {
		return f, nil
	}
	text := string(data)
	f.endsInNewline = strings.HasSuffix(text, "\n")
	f.lines = strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for i, line := range f.lines {
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' {
			continue
		}
		names, key, err := parseEntry(t)
		if err != nil {
			return nil, fmt.Errorf("known_servers file %s, line %d: %w", k.Path, i+1, err)
		}
		for _, server := range names {
			if prev, dup := f.entries[server]; dup {
				return nil, fmt.Errorf("known_servers file %s, line %d: second entry for %s (the first is on line %d); keep only one",
					k.Path, i+1, server, prev.line+1)
			}
			f.entries[server] = knownEntry{names: names, key: key, line: i}
		}
	}
	return f, nil
}

// parseEntry parses a line that is neither blank nor a comment.
func parseEntry(line string) ([]string, ed25519.PublicKey, error) {
	fields := strings.Fields(line)
	if len(fields) != 3 {
		return nil, nil, fmt.Errorf("malformed entry: want 3 fields, \"<server> %s <base64 public key>\", got %d", keyType, len(fields))
	}
	if fields[1] != keyType {
		return nil, nil, fmt.Errorf("unsupported key type %q for %s, want %q", fields[1], fields[0], keyType)
	}
	key, err := base64.StdEncoding.Strict().DecodeString(fields[2])
	if err != nil {
		return nil, nil, fmt.Errorf("key for %s is not valid base64: %w", fields[0], err)
	}
	if len(key) != ed25519.PublicKeySize {
		return nil, nil, fmt.Errorf("key for %s is %d bytes, want %d", fields[0], len(key), ed25519.PublicKeySize)
	}
	names := strings.Split(fields[0], ",")
	if slices.Contains(names, "") {
		return nil, nil, fmt.Errorf("empty server name in %q", fields[0])
	}
	return names, ed25519.PublicKey(key), nil
}

// appendEntry appends the line pinning pub for names, creating the file
// (with a header comment) if need be; CheckName has made its directory.
func (k KnownServers) appendEntry(f *knownFile, names []string, pub ed25519.PublicKey) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("known_servers: recording the key of %s in %s: %w", names[0], k.Path, err)
		}
	}()
	var b strings.Builder
	if !f.exists {
		b.WriteString(knownServersHeader)
	} else if !f.endsInNewline {
		b.WriteString("\n")
	}
	b.WriteString(formatEntry(names, pub))
	b.WriteString("\n")
	out, err := os.OpenFile(k.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := out.WriteString(b.String()); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
