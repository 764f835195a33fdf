package servercmd_test

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/cmd/servercmd"
	"github.com/udpchat/udpchat/internal/testkit"
	"github.com/udpchat/udpchat/server"
	"github.com/udpchat/udpchat/standard"
)

// The tests run the server with udpchat's standard implementations, as
// cmd/udpchat-server does: servercmd registers none of its own.
func init() { standard.Register() }

// TestUsage: --help prints usage and exits 0; a bad command line exits 2.
func TestUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "usage: udpchat-server [--config FILE] [--listen HOST:PORT]"},
		{[]string{"--bogus"}, 2, "unknown flag: --bogus"},
		{[]string{"extra"}, 2, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		if code := servercmd.Run(t.Context(), tt.args, nil, &stderr); code != tt.code || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("udpchat-server %v: exit %d, stderr %q; want exit %d and %q", tt.args, code, stderr.String(), tt.code, tt.want)
		}
	}
}

// TestBadConfigOneLine: bad configuration fails at startup, exit 1, with one
// line that says what and where.
func TestBadConfigOneLine(t *testing.T) {
	taken, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenTCP, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer takenTCP.Close()
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("codec: xml\n"), 0o600)
	corrupt := t.TempDir()
	os.WriteFile(filepath.Join(corrupt, server.RegistrationsFile), []byte("alice SHA256:nonsense\n"), 0o600)
	tests := []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"--listen", "127.0.0.1:99999"}, nil, "server.listen"},
		{[]string{"--listen", "not-an-address"}, nil, "server.listen"},
		{[]string{"--listen", taken.LocalAddr().String(), "--data-dir", t.TempDir()}, nil, "address already in use"},
		{[]string{"--config", bad}, nil, "known: json"},
		{nil, []string{"UDPCHAT_RELIABILITY_NAME=smoke-signals"}, "known: stop-and-wait"},
		{nil, []string{"UDPCHAT_BROKER_MODE=kafka"}, "broker.mode"},
		{nil, []string{"UDPCHAT_SERVER_OPERATORS=SHA256:tooshort"}, "server.operators[0]"},
		// The admin HTTP listener is for this machine only.
		{nil, []string{"UDPCHAT_SERVER_ADMIN_HTTP=0.0.0.0:9090"}, "server.admin_http: want a loopback address"},
		{[]string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--log-level", "error"}, []string{"UDPCHAT_BROKER_MODE=memory", "UDPCHAT_SERVER_ADMIN_HTTP=" + takenTCP.Addr().String()}, "server.admin_http: listen tcp " + takenTCP.Addr().String()},
		// A nickname store it cannot read stops it too, naming the file.
		{[]string{"--listen", "127.0.0.1:0", "--data-dir", corrupt, "--log-level", "error"}, []string{"UDPCHAT_BROKER_MODE=memory"}, filepath.Join(corrupt, server.RegistrationsFile)},
		// A broker that cannot be reached stops the server at startup.
		{[]string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--log-level", "error"}, []string{"UDPCHAT_BROKER_MODE=nats", "UDPCHAT_BROKER_URL=nats://127.0.0.1:1"}, "broker: connect to nats://127.0.0.1:1"},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		code := servercmd.Run(t.Context(), tt.args, tt.env, &stderr)
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if code != 1 || len(lines) != 1 || !strings.Contains(lines[0], tt.want) || !strings.HasPrefix(lines[0], "udpchat-server: ") {
			t.Errorf("udpchat-server %v %v: exit %d, stderr %q; want exit 1 and one line naming %q", tt.args, tt.env, code, stderr.String(), tt.want)
		}
	}
}

// TestPluginChecksumRefused: a plugin whose binary does not match its
// configured sha256 stops the server at startup, with one line naming it.
func TestPluginChecksumRefused(t *testing.T) {
	dir := t.TempDir()
	bin := testkit.Build(t, "../../plugins/examples/bot")
	cfg := filepath.Join(dir, "server.yaml")
	yaml := "plugins:\n  - name: bot\n    path: " + bin + "\n    sha256: \"" + strings.Repeat("0", 64) + "\"\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	code := servercmd.Run(t.Context(), []string{"--config", cfg, "--listen", "127.0.0.1:0", "--data-dir", dir, "--log-level", "error"}, nil, &stderr)
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	last := lines[len(lines)-1]
	if code != 1 || !strings.HasPrefix(last, "udpchat-server: ") || !strings.Contains(last, "bot") || !strings.Contains(last, strings.Repeat("0", 64)) {
		t.Fatalf("exit %d, stderr %q: want exit 1 and a line naming the plugin and the checksum", code, stderr.String())
	}
}

// TestBotClashes: plugins whose bots or commands clash, with each other,
// with a built-in command, with a plugin's name, or with the rules for
// nicknames stop the server at startup with one line naming both sides.
func TestBotClashes(t *testing.T) {
	dice := testkit.Build(t, "../../plugins/examples/dice")
	test := testkit.Build(t, "../../plugins/internal/testplugins/exit")
	plugin := func(name, bin, config string) string {
		return "  - name: " + name + "\n    path: " + bin + "\n    config: {" + config + "}\n"
	}
	tests := []struct {
		plugins []string
		want    string
	}{
		{[]string{plugin("d1", dice, ""), plugin("d2", dice, "")}, `server: bot "dice" is registered by both d1 and d2`},
		{[]string{plugin("d1", dice, "bot: one"), plugin("d2", dice, "bot: two")}, "server: command /roll is registered by both d1 and d2"},
		{[]string{plugin("p1", test, "commands: nick")}, "server: command /nick of p1: a built-in command cannot be replaced"},
		{[]string{plugin("p1", test, `commands: cls, usage: "\e[2J"`)}, "server: command /cls of p1: usage: contains control characters"},
		{[]string{plugin("p1", test, "bots: 9lives")}, `server: bot "9lives" of p1: a nickname starts with a letter: "9lives"`},
		{[]string{plugin("dice", dice, "bot: rolls"), plugin("p1", test, "bots: dice")}, `server: bot "dice" of p1: "dice" is reserved`},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "server.yaml")
		if err := os.WriteFile(cfg, []byte("plugins:\n"+strings.Join(tt.plugins, "")), 0o600); err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		code := servercmd.Run(t.Context(), []string{"--config", cfg, "--listen", "127.0.0.1:0", "--data-dir", dir, "--log-level", "error"}, nil, &stderr)
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if code != 1 || len(lines) != 1 || lines[0] != "udpchat-server: "+tt.want {
			t.Errorf("plugins %q: exit %d, stderr %q; want exit 1 and the one line %q", tt.plugins, code, stderr.String(), tt.want)
		}
	}
}
