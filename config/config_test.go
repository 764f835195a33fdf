package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	// The names a configuration can use are the ones registered.
	_ "github.com/udpchat/udpchat/cipher/seed"
	_ "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/config"
	_ "github.com/udpchat/udpchat/reliability/stopwait"
	"github.com/udpchat/udpchat/reliability/window"
	_ "github.com/udpchat/udpchat/transport/udp"
)

// TestDefaultWindow: the configuration's default window is the window
// layer's, and its queue holds it: config may not import the layer
// (internal/archtest), so the two are written twice and kept equal here.
func TestDefaultWindow(t *testing.T) {
	r := config.Default().Reliability
	if r.Window != window.DefaultWindow || r.Queue < r.Window {
		t.Fatalf("reliability.window %d and queue %d by default, want the window layer's %d and a queue that holds it",
			r.Window, r.Queue, window.DefaultWindow)
	}
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "udpchat.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExampleIsTheDefaults: config.example.yaml loads, and says exactly the
// defaults, so it can never drift from the code.
func TestExampleIsTheDefaults(t *testing.T) {
	got, err := config.Load("../config.example.yaml", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := config.Default(); !reflect.DeepEqual(got, want) {
		t.Fatalf("config.example.yaml says\n%+v\nthe defaults are\n%+v", got, want)
	}
}

// TestOverrides: the file beats the defaults, the environment beats the
// file, and the command line beats the environment.
func TestOverrides(t *testing.T) {
	path := writeFile(t, "server:\n  listen: 127.0.0.1:1000\n  idle_timeout: 90s\nreliability:\n  rto: 500ms\n")
	env := []string{"UDPCHAT_SERVER_LISTEN=127.0.0.1:2000", "UDPCHAT_RELIABILITY_MAX_RETRIES=9", "HOME=/x"}

	tests := []struct {
		name       string
		env        []string
		set        map[string]string
		wantListen string
	}{
		{"file", nil, nil, "127.0.0.1:1000"},
		{"environment over file", env, nil, "127.0.0.1:2000"},
		{"command line over environment", env, map[string]string{"server.listen": "127.0.0.1:3000"}, "127.0.0.1:3000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(path, tt.env, tt.set)
			if err != nil {
				t.Fatal(err)
			}
			if c.Server.Listen != tt.wantListen {
				t.Errorf("server.listen = %q, want %q", c.Server.Listen, tt.wantListen)
			}
			if c.Server.IdleTimeout != 90*time.Second || c.Reliability.RTO != 500*time.Millisecond {
				t.Errorf("file values lost: %+v", c)
			}
			if c.Codec != "json" || c.Reliability.Queue != 256 {
				t.Errorf("defaults lost: %+v", c)
			}
		})
	}
	c, err := config.Load(path, env, map[string]string{"client.plain": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Reliability.MaxRetries != 9 || !c.Client.Plain {
		t.Errorf("max_retries %d plain %v: want 9 from the environment and true from the command line", c.Reliability.MaxRetries, c.Client.Plain)
	}
}

// TestErrors: every bad configuration fails with one line that says what and
// where, and unknown names list the known ones.
func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		set  map[string]string
		want []string
	}{
		{name: "unknown codec", file: "codec: xml\n", want: []string{"codec", `"xml"`, "known: json"}},
		{name: "unknown suite", env: []string{"UDPCHAT_SUITE=rot13"}, want: []string{"suite", `"rot13"`, "known: rsa-aes-cbc-hmac"}},
		{name: "unknown reliability", file: "reliability:\n  name: carrier-pigeon\n", want: []string{"reliability.name", "carrier-pigeon", "known: stop-and-wait"}},
		{name: "unknown codec on the command line", set: map[string]string{"codec": "xml"}, want: []string{"known: json"}},
		{name: "bad listen", set: map[string]string{"server.listen": "nowhere"}, want: []string{"server.listen", "HOST:PORT", "nowhere"}},
		{name: "admin http on every interface", file: "server:\n  admin_http: \":9090\"\n", want: []string{"server.admin_http", "loopback", `":9090"`}},
		{name: "admin http on a public address", env: []string{"UDPCHAT_SERVER_ADMIN_HTTP=192.0.2.1:9090"}, want: []string{"server.admin_http", "loopback", "192.0.2.1:9090"}},
		{name: "admin http by name", file: "server:\n  admin_http: example.com:9090\n", want: []string{"server.admin_http", "loopback", "example.com:9090"}},
		{name: "admin http without a port", file: "server:\n  admin_http: 127.0.0.1\n", want: []string{"server.admin_http", "HOST:PORT"}},
		{name: "pprof without admin http", env: []string{"UDPCHAT_SERVER_PPROF=true"}, want: []string{"server.pprof", "server.admin_http"}},
		{name: "unknown option on the command line", set: map[string]string{"server.colour": "blue"}, want: []string{"command line", "server.colour"}},
		{name: "bad port", file: "server:\n  listen: 127.0.0.1:99999\n", want: []string{"server.listen", "99999"}},
		{name: "unknown option", file: "sever:\n  listen: 127.0.0.1:1\n", want: []string{"unknown option", "sever.listen"}},
		{name: "bad duration", file: "reliability:\n  rto: soon\n", want: []string{"rto", "soon"}},
		{name: "negative rto", file: "reliability:\n  rto: -1s\n", want: []string{"reliability.rto", "positive"}},
		{name: "not YAML", file: "codec: [json\n", want: []string{"udpchat.yaml"}},
		{name: "unknown variable", env: []string{"UDPCHAT_COLOUR=blue"}, want: []string{"UDPCHAT_COLOUR"}},
		{name: "bad log level", file: "log:\n  level: loud\n", want: []string{"log.level", "loud"}},
		{name: "bad cookie threshold", file: "server:\n  cookie_threshold: -2\n", want: []string{"server.cookie_threshold", "-2"}},
		{name: "empty recipient queue", env: []string{"UDPCHAT_SERVER_RECIPIENT_QUEUE=0"}, want: []string{"server.recipient_queue", "at least 1"}},
		{name: "negative history", file: "server:\n  history: -1\n", want: []string{"server.history", "not be negative", "0 keeps none", "-1"}},
		{name: "negative max lag", file: "server:\n  max_lag: -1s\n", want: []string{"server.max_lag", "refused at once", "-1s"}},
		{name: "negative rate", env: []string{"UDPCHAT_SERVER_RATE=-0.5"}, want: []string{"server.rate", "0 turns it off", "-0.5"}},
		{name: "negative handshake retries", file: "client:\n  handshake_retries: -3\n", want: []string{"client.handshake_retries", "-3"}},
		{name: "bad server in the list", file: "client:\n  servers: [\"127.0.0.1:7000\", nowhere]\n", want: []string{"client.servers[1]", "HOST:PORT", "nowhere"}},
		{name: "bad port in the list from the environment", env: []string{"UDPCHAT_CLIENT_SERVERS=127.0.0.1:7000,127.0.0.1:99999"}, want: []string{"client.servers[1]", "99999"}},
		{name: "zero keepalive", file: "client:\n  keepalive: 0s\n", want: []string{"client.keepalive", "positive"}},
		{name: "zero retransmit cap", file: "server:\n  retransmit_cap: 0s\n", want: []string{"server.retransmit_cap", "positive"}},
		{name: "zero handler deadline", file: "server:\n  handler_deadline: 0s\n", want: []string{"server.handler_deadline", "positive"}},
		{name: "bad broker mode", file: "broker:\n  mode: kafka\n", want: []string{"broker.mode", "memory, embedded or nats", "kafka"}},
		{name: "cluster listen not host:port", file: "broker:\n  cluster:\n    listen: 6222\n", want: []string{"broker.cluster.listen", "HOST:PORT", "6222"}},
		{name: "route not a URL", file: "broker:\n  cluster:\n    listen: 127.0.0.1:6222\n    routes: [\"10.0.0.2:6222\"]\n", want: []string{"broker.cluster.routes[0]", "nats://HOST:PORT", "10.0.0.2:6222"}},
		{name: "routes without listen", file: "broker:\n  cluster:\n    routes: [\"nats://10.0.0.2:6222\"]\n", want: []string{"broker.cluster.routes", "broker.cluster.listen"}},
		{name: "route in the environment", env: []string{"UDPCHAT_BROKER_CLUSTER_LISTEN=127.0.0.1:6222", "UDPCHAT_BROKER_CLUSTER_ROUTES=nats://a:1,b:2"}, want: []string{"broker.cluster.routes[1]", `"b:2"`}},
		{name: "replicas 2", env: []string{"UDPCHAT_BROKER_REPLICAS=2"}, want: []string{"broker.replicas", "0 (automatic), 1, 3 or 5", "2"}},
		{name: "replicas without a cluster", file: "broker:\n  replicas: 3\n", want: []string{"broker.replicas", "broker.cluster.listen"}},
		{name: "mode nats without url", file: "broker:\n  mode: nats\n", want: []string{"broker.url", "mode nats"}},
		{name: "bad nats url", file: "broker:\n  mode: nats\n  url: nats://a:4222,http://b:80\n", want: []string{"broker.url", "http://b:80"}},
		{name: "tls cert without key", file: "broker:\n  tls:\n    cert: node.pem\n", want: []string{"broker.tls", "needs its key", "node.pem"}},
		{name: "route user without password", file: "broker:\n  cluster:\n    user: ruser\n", want: []string{"broker.cluster.user", "password"}},
		{name: "zero max messages", file: "broker:\n  max_messages: 0\n", want: []string{"broker.max_messages", "at least 1"}},
		{name: "negative max age", file: "broker:\n  max_age: -1s\n", want: []string{"broker.max_age", "-1s"}},
		{name: "bad register mode", file: "server:\n  register: always\n", want: []string{"server.register", "auto, command or off", "always"}},
		{name: "operator without prefix", file: "server:\n  operators: [\"Gaa7VtlbFnAUf+BOXG62wWRNDgqNVILoI0A4DPGL5Ls\"]\n", want: []string{"server.operators[0]", "SHA256:"}},
		{name: "operator short form", file: "server:\n  operators: [\"SHA256:Gaa7VtlbFnAUf+BOXG62wWRNDgqNVILoI0A4DPGL5Ls\", \"SHA256:Gaa7VtlbFnAU\"]\n", want: []string{"server.operators[1]", "SHA256:Gaa7VtlbFnAU", "43 characters"}},
		{name: "operator in the environment", env: []string{"UDPCHAT_SERVER_OPERATORS=SHA256:Gaa7VtlbFnAUf+BOXG62wWRNDgqNVILoI0A4DPGL5Ls,nobody"}, want: []string{"server.operators[1]", "nobody"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeFile(t, tt.file)
			}
			_, err := config.Load(path, tt.env, tt.set)
			if err == nil {
				t.Fatal("loaded without error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is more than one line: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
		})
	}
	if _, err := config.Load(filepath.Join(t.TempDir(), "missing.yaml"), nil, nil); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

// TestBroker: the broker's keys load from the file and the environment,
// routes as a list from either.
func TestBroker(t *testing.T) {
	def := config.Default().Broker
	if def.Mode != "embedded" || def.MaxMessages != 10000 || def.Cluster.Name != "udpchat" || def.Replicas != 0 {
		t.Errorf("broker defaults %+v: want mode embedded, 10000 messages, cluster udpchat, replicas automatic", def)
	}
	path := writeFile(t, "broker:\n  name: n1\n  replicas: 3\n  max_age: 24h\n  cluster:\n    listen: 127.0.0.1:6222\n    routes: [\"nats://127.0.0.1:6223\", \"nats-route://127.0.0.1:6224\"]\n    user: r\n    password: s\n  tls:\n    ca: ca.pem\n    cert: n1.pem\n    key: n1-key.pem\n")
	c, err := config.Load(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := c.Broker
	if b.Name != "n1" || b.Replicas != 3 || b.MaxAge != 24*time.Hour || b.Cluster.Listen != "127.0.0.1:6222" || len(b.Cluster.Routes) != 2 || b.Cluster.User != "r" || b.TLS.Key != filepath.Join(filepath.Dir(path), "n1-key.pem") {
		t.Errorf("loaded %+v", b)
	}
	env := []string{"UDPCHAT_BROKER_MODE=nats", "UDPCHAT_BROKER_URL=nats://a:4222,nats://b:4222", "UDPCHAT_BROKER_CLUSTER_LISTEN=127.0.0.1:6222", "UDPCHAT_BROKER_CLUSTER_ROUTES=nats://a:6222,nats://b:6222"}
	if c, err = config.Load("", env, nil); err != nil {
		t.Fatal(err)
	}
	if b := c.Broker; b.Mode != "nats" || b.URL != "nats://a:4222,nats://b:4222" || !reflect.DeepEqual(b.Cluster.Routes, []string{"nats://a:6222", "nats://b:6222"}) {
		t.Errorf("from the environment: %+v", b)
	}
}

// TestAdminHTTP: the admin HTTP listener is off by default, and takes any
// loopback address, with pprof beside it when asked.
func TestAdminHTTP(t *testing.T) {
	if d := config.Default(); d.Server.AdminHTTP != "" || d.Server.PProf {
		t.Fatalf("default admin_http %q, pprof %v: want off", d.Server.AdminHTTP, d.Server.PProf)
	}
	for _, addr := range []string{"127.0.0.1:9090", "127.0.0.2:0", "[::1]:9090", "localhost:9090"} {
		c, err := config.Load("", []string{"UDPCHAT_SERVER_ADMIN_HTTP=" + addr, "UDPCHAT_SERVER_PPROF=true"}, nil)
		if err != nil || c.Server.AdminHTTP != addr || !c.Server.PProf {
			t.Errorf("admin_http %s: %+v, %v", addr, c.Server, err)
		}
	}
}

// TestPlugins: plugin entries load as a list, and each bad field is named
// with the entry's index.
func TestPlugins(t *testing.T) {
	good := writeFile(t, "plugins:\n  - name: bot\n    path: ./bin/bot\n    timeout: 1s\n    config:\n      prefix: \"!\"\n  - name: filter\n    path: ./bin/filter\n    policy: fail-closed\n")
	c, err := config.Load(good, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Plugins) != 2 || c.Plugins[0].Config["prefix"] != "!" || c.Plugins[0].Timeout != time.Second || c.Plugins[1].Policy != "fail-closed" {
		t.Fatalf("loaded %+v", c.Plugins)
	}
	tests := []struct{ file, want string }{
		{"plugins:\n  - path: ./x\n", "plugins[0].name"},
		{"plugins:\n  - name: a\n", "plugins[0].path"},
		{"plugins:\n  - {name: a, path: x}\n  - {name: a, path: y}\n", `plugins[1].name: "a" names two plugins`},
		{"plugins:\n  - {name: a, path: x, policy: maybe}\n", "plugins[0].policy"},
		{"plugins:\n  - {name: a, path: x, sha256: abc}\n", "plugins[0].sha256"},
		{"plugins:\n  - {name: a, path: x, events: [typing]}\n", "plugins[0].events"},
		{"plugins:\n  - {name: a, paht: x}\n", "paht"},
	}
	for _, tt := range tests {
		_, err := config.Load(writeFile(t, tt.file), nil, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v, want one line naming %q", tt.file, err, tt.want)
		}
	}
}

// TestClientServers: client.servers is a list in the file, and one text
// split at its commas in the environment, which beats the file.
func TestClientServers(t *testing.T) {
	path := writeFile(t, "client:\n  servers:\n    - 127.0.0.1:7000\n    - chat.example:7001\n")
	c, err := config.Load(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"127.0.0.1:7000", "chat.example:7001"}; !reflect.DeepEqual(c.Client.Servers, want) {
		t.Fatalf("from the file: %q, want %q", c.Client.Servers, want)
	}
	c, err = config.Load(path, []string{"UDPCHAT_CLIENT_SERVERS=127.0.0.1:8000,127.0.0.1:8001"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"127.0.0.1:8000", "127.0.0.1:8001"}; !reflect.DeepEqual(c.Client.Servers, want) {
		t.Fatalf("from the environment: %q, want %q", c.Client.Servers, want)
	}
}

// TestPathsRelativeToFile: a relative path written in a configuration file
// is relative to that file, wherever the program starts, for every option
// that names a file and each plugin's executable; one given in the
// environment or on the command line is left to the working directory; an
// absolute one, "-" (standard error) and "off" are left alone.
func TestPathsRelativeToFile(t *testing.T) {
	path := writeFile(t, `server:
  data_dir: state
  admin_socket: "off"
broker:
  creds: ./nats.creds
client:
  known_servers: /etc/udpchat/known_servers
  state_dir: ../shared-state
  log_file: ~/logs/udpchat.log
plugins:
  - name: filter
    path: ./bin/filter
  - name: abs
    path: /usr/lib/udpchat/abs
`)
	t.Chdir(t.TempDir()) // somewhere else
	t.Setenv("HOME", "/home/tester")
	dir := filepath.Dir(path)
	c, err := config.Load(path, []string{"UDPCHAT_CLIENT_DATA_DIR=keys"}, map[string]string{"server.listen": "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, got, want string }{
		{"server.data_dir", c.Server.DataDir, filepath.Join(dir, "state")},
		{"server.admin_socket", c.Server.AdminSocket, "off"},
		{"broker.creds", c.Broker.Creds, filepath.Join(dir, "nats.creds")},
		{"client.known_servers", c.Client.KnownServers, "/etc/udpchat/known_servers"},
		{"client.state_dir", c.Client.StateDir, filepath.Join(filepath.Dir(dir), "shared-state")},
		{"client.data_dir (from the environment)", c.Client.DataDir, "keys"},
		{"client.log_file (in the home directory)", c.Client.LogFile, "/home/tester/logs/udpchat.log"},
		{"plugins[0].path", c.Plugins[0].Path, filepath.Join(dir, "bin", "filter")},
		{"plugins[1].path", c.Plugins[1].Path, "/usr/lib/udpchat/abs"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

// TestDiff: Diff names the options that changed, by key, nested and
// listed ones included, and nothing for two equal configurations.
func TestDiff(t *testing.T) {
	a := config.Default()
	if keys := config.Diff(a, config.Default()); len(keys) != 0 {
		t.Fatalf("Diff of two defaults = %q, want none", keys)
	}
	b := config.Default()
	b.Server.MOTD = "hello"
	b.Broker.Cluster.Name = "other"
	b.Plugins = append(b.Plugins, config.Plugin{Name: "filter"})
	b.Server.Operators = nil // empty either way
	want := []string{"server.motd", "broker.cluster.name", "plugins"}
	if keys := config.Diff(a, b); !slices.Equal(keys, want) {
		t.Fatalf("Diff = %q, want %q", keys, want)
	}
	c := config.Default()
	c.Plugins = []config.Plugin{{Name: "filter", Config: map[string]string{"words": "a"}}}
	d := config.Default()
	d.Plugins = []config.Plugin{{Name: "filter", Config: map[string]string{"words": "b"}}}
	if keys := config.Diff(c, d); !slices.Equal(keys, []string{"plugins"}) {
		t.Fatalf("Diff of a plugin's configuration = %q, want plugins", keys)
	}
}
