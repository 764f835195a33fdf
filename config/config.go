// Package config loads udpchat's configuration with koanf: the defaults in
// this file, then a YAML file, then UDPCHAT_ environment variables, then
// the options the command line sets, each overriding the one before. It also turns the
// configured names into the implementations registered in core.
//
// Every option is defined once, in Default and the struct tags below;
// config.example.yaml at the repository root documents them, and a test loads
// it so the two cannot drift apart.
package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/structs"
	"github.com/knadh/koanf/v2"

	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/identity"
	"github.com/udpchat/udpchat/server"
)

// EnvPrefix starts the environment variables that set options:
// UDPCHAT_SERVER_LISTEN sets server.listen.
const EnvPrefix = "UDPCHAT_"

// Config is every option of the server and the client.
type Config struct {
	// Codec names the wire codec: "json" is the seed's.
	Codec string `koanf:"codec"`
	// Suite names the cipher suite.
	Suite string `koanf:"suite"`
	// Transport names the transport: "udp".
	Transport   string      `koanf:"transport"`
	Reliability Reliability `koanf:"reliability"`
	Server      Server      `koanf:"server"`
	Client      Client      `koanf:"client"`
	Broker      Broker      `koanf:"broker"`
	Log         Log         `koanf:"log"`
	// Plugins are the server's handler plugins, run in this order on every
	// chat message.
	Plugins []Plugin `koanf:"plugins"`
	// Fault makes the network bad on purpose, for experiments.
	Fault Fault `koanf:"fault"`
}

// Fault configures the fault-injecting transport wrapper (transport/fault)
// around whichever transport runs: the same options as fault.Config.
type Fault struct {
	// Seed seeds the faults, so a run can be repeated.
	Seed    uint64          `koanf:"seed"`
	Send    FaultsDirection `koanf:"send"`
	Receive FaultsDirection `koanf:"receive"`
}

// FaultsDirection is what happens to the datagrams going one way.
type FaultsDirection struct {
	Loss      float64       `koanf:"loss"`
	Duplicate float64       `koanf:"duplicate"`
	Reorder   float64       `koanf:"reorder"`
	Delay     time.Duration `koanf:"delay"`
	Jitter    time.Duration `koanf:"jitter"`
}

// Enabled reports whether any fault is configured.
func (f Fault) Enabled() bool {
	return f.Send != (FaultsDirection{}) || f.Receive != (FaultsDirection{})
}

// Plugin configures one handler plugin: an executable the server starts
// and talks to over gRPC (hashicorp/go-plugin).
type Plugin struct {
	Name string `koanf:"name"`
	Path string `koanf:"path"`
	// SHA256 is the binary's checksum, checked before it runs ("" skips it).
	SHA256 string            `koanf:"sha256"`
	Args   []string          `koanf:"args"`
	Env    []string          `koanf:"env"`
	Config map[string]string `koanf:"config"`
	// Timeout bounds each call; a plugin that takes longer is treated as failed.
	Timeout time.Duration `koanf:"timeout"`
	// Policy decides a message when the plugin fails: fail-open passes it,
	// fail-closed refuses it.
	Policy string `koanf:"policy"`
	// Events narrows what the plugin is sent (message, join, leave, rename);
	// empty means what the plugin asks for.
	Events []string `koanf:"events"`
	// Private passes private messages between users to the plugin, which
	// otherwise never reads them (a message to its own bot it gets anyway).
	Private bool `koanf:"private"`
}

// Reliability configures the reliability layer.
type Reliability struct {
	Name       string        `koanf:"name"`
	RTO        time.Duration `koanf:"rto"`
	MaxRetries int           `koanf:"max_retries"`
	Queue      int           `koanf:"queue"`
	Window     int           `koanf:"window"`
}

// Server configures udpchat-server.
type Server struct {
	Listen        string        `koanf:"listen"`
	DataDir       string        `koanf:"data_dir"`
	MaxSessions   int           `koanf:"max_sessions"`
	IdleTimeout   time.Duration `koanf:"idle_timeout"`
	V1IdleTimeout time.Duration `koanf:"v1_idle_timeout"`
	History       int           `koanf:"history"`
	// MOTD is the message of the day, shown to every client as it
	// connects; MaxChannels bounds the channels open at once.
	MOTD        string `koanf:"motd"`
	MaxChannels int    `koanf:"max_channels"`
	// AdminSocket is the admin control path's Unix socket: "" for
	// admin.sock in the data directory, "off" for none.
	AdminSocket string `koanf:"admin_socket"`
	// AdminHTTP is the HOST:PORT of the admin HTTP listener (package
	// metrics: /metrics, /healthz, /readyz), on a loopback address; ""
	// for none. PProf serves net/http/pprof there too.
	AdminHTTP string  `koanf:"admin_http"`
	PProf     bool    `koanf:"pprof"`
	Rate      float64 `koanf:"rate"`
	Burst     int     `koanf:"burst"`
	// MaxLag is server.RateLimit's: the longest a message over the rate
	// waits before it is refused; 0 refuses it at once.
	MaxLag time.Duration `koanf:"max_lag"`
	// RecipientQueue, RetransmitCap, HandlerDeadline, HandshakeRate,
	// HandshakeBurst and CookieThreshold are server.Config's.
	RecipientQueue  int           `koanf:"recipient_queue"`
	RetransmitCap   time.Duration `koanf:"retransmit_cap"`
	HandlerDeadline time.Duration `koanf:"handler_deadline"`
	HandshakeRate   float64       `koanf:"handshake_rate"`
	HandshakeBurst  int           `koanf:"handshake_burst"`
	CookieThreshold int           `koanf:"cookie_threshold"`
	// MaxSessionsPerAddr and MaxSessionsPerPrefix are server.Config's: 0
	// is automatic (max_sessions/128 and /32), -1 no cap.
	MaxSessionsPerAddr   int `koanf:"max_sessions_per_addr"`
	MaxSessionsPerPrefix int `koanf:"max_sessions_per_prefix"`
	// Register is server.Config's: auto, command or off.
	Register string `koanf:"register"`
	// Operators are the fingerprints of the operators' client keys.
	Operators []string `koanf:"operators"`
}

// Broker configures the server's connection to NATS, where the rooms' logs
// live (issue 16): none (memory), a NATS server inside udpchat-server
// (embedded), alone or clustered with other udpchat-servers, or NATS
// servers of one's own (nats).
type Broker struct {
	// Mode is memory, embedded or nats (BrokerModes).
	Mode string `koanf:"mode"`
	// Name is this server's name among NATS nodes; "" derives one from
	// server.listen.
	Name string `koanf:"name"`
	// Replicas is the number of copies of each room's stream: 0, 1, 3 or
	// 5; 0 is automatic (1 alone, 3 in a cluster of 3 or more).
	Replicas int `koanf:"replicas"`
	// MaxMessages and MaxAge are each room's retention, in every mode.
	MaxMessages int           `koanf:"max_messages"`
	MaxAge      time.Duration `koanf:"max_age"`
	Cluster     BrokerCluster `koanf:"cluster"`
	// URL, in mode nats, is the NATS servers, comma-separated
	// nats://host:port; Creds a .creds file.
	URL   string    `koanf:"url"`
	Creds string    `koanf:"creds"`
	TLS   BrokerTLS `koanf:"tls"`
}

// BrokerCluster configures the routes of an embedded NATS server to the
// other udpchat-servers' ones.
type BrokerCluster struct {
	// Listen is HOST:PORT for routes; "" is not clustered.
	Listen string   `koanf:"listen"`
	Name   string   `koanf:"name"`
	Routes []string `koanf:"routes"`
	// User and Password are the routes' credentials, both or neither.
	User     string `koanf:"user"`
	Password string `koanf:"password"`
}

// BrokerTLS is the client TLS of mode nats, and the route TLS of an
// embedded cluster: files in PEM.
type BrokerTLS struct {
	CA   string `koanf:"ca"`
	Cert string `koanf:"cert"`
	Key  string `koanf:"key"`
}

// maxMOTD bounds the message of the day: it is one notice, which must
// fit in a datagram with room to spare.
const maxMOTD = 512

// The broker modes.
const (
	BrokerMemory   = "memory"
	BrokerEmbedded = "embedded"
	BrokerNATS     = "nats"
)

// Client configures udpchat.
type Client struct {
	// Servers are the servers of the room to connect to, HOST:PORT each:
	// the first, then the next when the client gives up on one. The
	// server named on udpchat's command line replaces them.
	Servers          []string      `koanf:"servers"`
	Nick             string        `koanf:"nick"`
	Plain            bool          `koanf:"plain"`
	LogFile          string        `koanf:"log_file"`
	Protocol         int           `koanf:"protocol"`
	RequireV2        bool          `koanf:"require_v2"`
	KnownServers     string        `koanf:"known_servers"`
	AcceptNewKey     bool          `koanf:"accept_new_key"`
	Keepalive        time.Duration `koanf:"keepalive"`
	Theme            string        `koanf:"theme"`
	Bell             bool          `koanf:"bell"`
	HandshakeRTO     time.Duration `koanf:"handshake_rto"`
	HandshakeRetries int           `koanf:"handshake_retries"`
	V1AckPause       time.Duration `koanf:"v1_ack_pause"`
	// StateDir is where the client keeps what it resumes a session from
	// after it was killed; "" is the default (cmd/udpchat).
	StateDir string `koanf:"state_dir"`
	// DataDir is where the client keeps its identity key; "" is
	// identity.DefaultDataDir.
	DataDir string `koanf:"data_dir"`
	// Anonymous connects without a key.
	Anonymous bool `koanf:"anonymous"`
}

// Log configures logging.
type Log struct {
	Level  string `koanf:"level"`
	Format string `koanf:"format"`
}

// Default returns the defaults: the seed's port, algorithms and timers.
func Default() Config {
	return Config{
		Codec:     "json",
		Suite:     "rsa-aes-cbc-hmac",
		Transport: "udp",
		Reliability: Reliability{
			Name:       "stop-and-wait",
			RTO:        2 * time.Second, // the seed's
			MaxRetries: 5,               // the seed's
			Queue:      256,             // two of the window layer's windows
			Window:     128,             // window.DefaultWindow (TestDefaultWindow), KCP's
		},
		Server: Server{
			Listen:        "0.0.0.0:12345", // the seed's
			MaxSessions:   server.DefaultMaxSessions,
			IdleTimeout:   server.DefaultIdleTimeout,
			V1IdleTimeout: 30 * time.Minute,
			History:       server.DefaultHistory,
			MaxChannels:   server.DefaultMaxChannels,
			Rate:          server.DefaultRateLimit.Rate,
			Burst:         server.DefaultRateLimit.Burst,
			MaxLag:        server.DefaultRateLimit.MaxLag,

			RecipientQueue:  server.DefaultRecipientQueue,
			RetransmitCap:   server.DefaultRetransmitCap,
			HandlerDeadline: server.DefaultHandlerDeadline,
			HandshakeRate:   server.DefaultHandshakeLimit.Rate,
			HandshakeBurst:  server.DefaultHandshakeLimit.Burst,
			Register:        string(server.RegisterAuto),
			Operators:       []string{},
		},
		Client: Client{
			Servers:          []string{},
			LogFile:          "",
			Protocol:         2,
			Keepalive:        client.DefaultKeepalive,
			HandshakeRTO:     client.DefaultHandshakeRTO,
			HandshakeRetries: client.DefaultHandshakeRetries,
			V1AckPause:       client.DefaultV1AckPause,
		},
		Broker: Broker{
			Mode:        BrokerEmbedded,
			MaxMessages: 10000, // roomlog/jetstream.DefaultMaxEntries
			Cluster:     BrokerCluster{Name: "udpchat", Routes: []string{}},
		},
		Log:     Log{Level: "info", Format: "text"},
		Plugins: []Plugin{},
	}
}

// Load reads the configuration: the defaults, then the file at path (if
// path is not empty), then the environment, then set, the options given on
// the command line by key ("server.listen"), each overriding the one
// before. Which flags set which options is the commands' business (cmd/);
// Load only takes their values. Its errors are one line that says what and
// where.
func Load(path string, environ []string, set map[string]string) (Config, error) {
	k := koanf.New(".")
	def := Default()
	if err := k.Load(structs.Provider(def, "koanf"), nil); err != nil {
		return Config{}, fmt.Errorf("config: defaults: %w", err)
	}
	keys := k.Keys()
	if path != "" {
		if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
			return Config{}, fmt.Errorf("config: %s: %s", path, oneLine(err))
		}
		if err := checkKeys(k.Keys(), keys, path); err != nil {
			return Config{}, err
		}
		if err := relativeToFile(k, path); err != nil {
			return Config{}, err
		}
	}
	envKeys := make(map[string]string, len(keys))
	for _, key := range keys {
		envKeys[EnvPrefix+strings.ToUpper(strings.ReplaceAll(key, ".", "_"))] = key
	}
	var envErr error
	err := k.Load(env.Provider(".", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, v string) (string, any) {
			key, ok := envKeys[name]
			if !ok && envErr == nil {
				envErr = fmt.Errorf("config: environment: unknown variable %s", name)
			}
			return key, v
		},
	}), nil)
	if err == nil {
		err = envErr
	}
	if err != nil {
		return Config{}, err
	}
	for _, key := range slices.Sorted(maps.Keys(set)) {
		if !slices.Contains(keys, key) {
			return Config{}, fmt.Errorf("config: command line: unknown option %q", key)
		}
		if err := k.Set(key, set[key]); err != nil {
			return Config{}, fmt.Errorf("config: command line: %s: %w", key, err)
		}
	}
	var c Config
	err = k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{DecoderConfig: &mapstructure.DecoderConfig{
		DecodeHook:       durationHook,
		WeaklyTypedInput: true,
		ErrorUnused:      true,
		Result:           &c,
	}})
	if err != nil {
		msg := strings.TrimPrefix(oneLine(err), "decoding failed due to the following error(s):")
		return Config{}, fmt.Errorf("config: %s", strings.Trim(msg, " ;"))
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// fileKeys are the options that name a file or a directory: a relative
// one written in a configuration file is relative to that file, so that a
// configuration works wherever the program is started from. Given in the
// environment or on the command line, it is relative to the working
// directory, as a shell's paths are. Each maps to the values that are no
// path ("-" is standard error, "off" no socket).
var fileKeys = map[string][]string{
	"server.data_dir":      nil,
	"server.admin_socket":  {"off"},
	"broker.creds":         nil,
	"broker.tls.ca":        nil,
	"broker.tls.cert":      nil,
	"broker.tls.key":       nil,
	"client.log_file":      {"-"},
	"client.known_servers": nil,
	"client.state_dir":     nil,
	"client.data_dir":      nil,
}

// relativeToFile makes the relative paths the file at path set (fileKeys,
// and each plugin's path) relative to the file's directory.
func relativeToFile(k *koanf.Koanf, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	dir := filepath.Dir(abs)
	resolve := func(v string) string {
		if rest, ok := strings.CutPrefix(v, "~"); ok && (rest == "" || rest[0] == '/') {
			// ~/x is the user's, as a shell would have it: nothing else
			// expands it, and the file's directory is not the user's home.
			if home, err := os.UserHomeDir(); err == nil {
				return filepath.Join(home, rest)
			}
		}
		if v == "" || filepath.IsAbs(v) {
			return v
		}
		return filepath.Join(dir, v)
	}
	for key, notPaths := range fileKeys {
		v, ok := k.Get(key).(string)
		if !ok || slices.Contains(notPaths, v) {
			continue
		}
		if r := resolve(v); r != v {
			k.Set(key, r)
		}
	}
	plugins, ok := k.Get("plugins").([]any)
	if !ok {
		return nil
	}
	for _, p := range plugins {
		if m, ok := p.(map[string]any); ok {
			if v, ok := m["path"].(string); ok {
				m["path"] = resolve(v)
			}
		}
	}
	return k.Set("plugins", plugins)
}

// durationHook parses durations written as text ("2s", "500ms"), and
// splits a list given as one text at its commas
// (UDPCHAT_CLIENT_SERVERS=host1:port,host2:port).
func durationHook(from, to reflect.Type, v any) (any, error) {
	if to == reflect.TypeFor[[]string]() && from.Kind() == reflect.String {
		return strings.Split(v.(string), ","), nil
	}
	if to != reflect.TypeFor[time.Duration]() || from.Kind() != reflect.String {
		return v, nil
	}
	d, err := time.ParseDuration(v.(string))
	if err != nil {
		return nil, fmt.Errorf("want a duration such as 2s or 500ms, got %q", v)
	}
	return d, nil
}

// checkKeys refuses options the program does not know: a typo in a YAML
// file should fail at startup, not be ignored.
func checkKeys(got, known []string, where string) error {
	for _, key := range got {
		if !slices.Contains(known, key) {
			return fmt.Errorf("config: %s: unknown option %q", where, key)
		}
	}
	return nil
}

// Validate checks every option, and that every configured name is registered.
func (c *Config) Validate() error {
	var errs []string
	bad := func(key, format string, args ...any) {
		errs = append(errs, key+": "+fmt.Sprintf(format, args...))
	}
	if _, err := core.Codecs.Lookup(c.Codec); err != nil && c.Codec != AutoCodec {
		bad("codec", "%v, or %s (a server speaking all of them at once)", err, AutoCodec)
	}
	if _, err := core.Suites.Lookup(c.Suite); err != nil {
		bad("suite", "%v", err)
	}
	if _, err := core.Transports.Lookup(c.Transport); err != nil {
		bad("transport", "%v", err)
	}
	if _, err := core.Reliabilities.Lookup(c.Reliability.Name); err != nil {
		bad("reliability.name", "%v", err)
	}
	// The numeric ranges, and what 0 means where it is allowed.
	const (
		positive    = "must be positive"
		atLeastOne  = "must be at least 1"
		notNegative = "must not be negative"
		zeroOff     = notNegative + " (0 turns it off)"
		capOrAuto   = "must be a cap, 0 (automatic) or -1 (none)"
	)
	for _, r := range []struct {
		key  string
		ok   bool
		want string
		got  any
	}{
		{"reliability.rto", c.Reliability.RTO > 0, positive, c.Reliability.RTO},
		{"reliability.max_retries", c.Reliability.MaxRetries >= 0, notNegative, c.Reliability.MaxRetries},
		{"reliability.window", c.Reliability.Window >= 1, atLeastOne, c.Reliability.Window},
		{"reliability.queue", c.Reliability.Queue >= 1, atLeastOne, c.Reliability.Queue},
		{"server.max_sessions", c.Server.MaxSessions >= 1, atLeastOne, c.Server.MaxSessions},
		{"server.idle_timeout", c.Server.IdleTimeout > 0, positive, c.Server.IdleTimeout},
		{"server.v1_idle_timeout", c.Server.V1IdleTimeout >= 0, zeroOff, c.Server.V1IdleTimeout},
		{"server.history", c.Server.History >= 0, notNegative + " (0 keeps none)", c.Server.History},
		{"server.max_channels", c.Server.MaxChannels >= 1, atLeastOne + " (the lobby)", c.Server.MaxChannels},
		{"server.motd", len(c.Server.MOTD) <= maxMOTD && utf8.ValidString(c.Server.MOTD), fmt.Sprintf("UTF-8 text of at most %d bytes", maxMOTD), len(c.Server.MOTD)},
		{"server.rate", c.Server.Rate >= 0, zeroOff, c.Server.Rate},
		{"server.burst", c.Server.Burst >= 1, atLeastOne, c.Server.Burst},
		{"server.max_lag", c.Server.MaxLag >= 0, notNegative + " (0s: no wait, refused at once)", c.Server.MaxLag},
		{"server.recipient_queue", c.Server.RecipientQueue >= 1, atLeastOne, c.Server.RecipientQueue},
		{"server.retransmit_cap", c.Server.RetransmitCap > 0, positive, c.Server.RetransmitCap},
		{"server.handler_deadline", c.Server.HandlerDeadline > 0, positive, c.Server.HandlerDeadline},
		{"server.handshake_rate", c.Server.HandshakeRate >= 0, zeroOff, c.Server.HandshakeRate},
		{"server.handshake_burst", c.Server.HandshakeBurst >= 1, atLeastOne, c.Server.HandshakeBurst},
		{"server.max_sessions_per_addr", c.Server.MaxSessionsPerAddr >= -1, capOrAuto, c.Server.MaxSessionsPerAddr},
		{"server.max_sessions_per_prefix", c.Server.MaxSessionsPerPrefix >= -1, capOrAuto, c.Server.MaxSessionsPerPrefix},
		{"client.keepalive", c.Client.Keepalive > 0, positive, c.Client.Keepalive},
		{"client.handshake_rto", c.Client.HandshakeRTO > 0, positive, c.Client.HandshakeRTO},
		{"client.handshake_retries", c.Client.HandshakeRetries >= 0, notNegative + " (0 sends it once)", c.Client.HandshakeRetries},
		{"client.v1_ack_pause", c.Client.V1AckPause >= 0, notNegative + " (0s: no pause)", c.Client.V1AckPause},
		{"broker.max_messages", c.Broker.MaxMessages >= 1, atLeastOne, c.Broker.MaxMessages},
		{"broker.max_age", c.Broker.MaxAge >= 0, notNegative + " (0s: kept until max_messages pushes them out)", c.Broker.MaxAge},
	} {
		if !r.ok {
			bad(r.key, "%s, got %v", r.want, r.got)
		}
	}
	if err := CheckHostPort(c.Server.Listen); err != nil {
		bad("server.listen", "%v", err)
	}
	if c.Server.AdminHTTP != "" {
		if err := checkLoopback(c.Server.AdminHTTP); err != nil {
			bad("server.admin_http", "%v", err)
		}
	} else if c.Server.PProf {
		bad("server.pprof", "pprof is served on server.admin_http, which is off")
	}
	if !slices.Contains(server.RegisterModes, server.RegisterMode(c.Server.Register)) {
		bad("server.register", "want auto, command or off, got %q", c.Server.Register)
	}
	for i, fp := range c.Server.Operators {
		if err := identity.CheckFingerprint(fp); err != nil {
			bad(fmt.Sprintf("server.operators[%d]", i), "%v", err)
		}
	}
	if c.Server.CookieThreshold < -1 {
		bad("server.cookie_threshold", "want -1 (always), 0 (automatic) or a number of handshakes, got %d", c.Server.CookieThreshold)
	}
	for i, s := range c.Client.Servers {
		if err := CheckHostPort(s); err != nil {
			bad(fmt.Sprintf("client.servers[%d]", i), "%v", err)
		}
	}
	if c.Client.Protocol != 1 && c.Client.Protocol != 2 {
		bad("client.protocol", "want 1 or 2, got %d", c.Client.Protocol)
	}
	if _, err := c.Log.SlogLevel(); err != nil {
		bad("log.level", "%v", err)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "want text or json, got %q", c.Log.Format)
	}
	for _, d := range []struct {
		key string
		f   FaultsDirection
	}{{"fault.send", c.Fault.Send}, {"fault.receive", c.Fault.Receive}} {
		for _, p := range []struct {
			name string
			v    float64
		}{{"loss", d.f.Loss}, {"duplicate", d.f.Duplicate}, {"reorder", d.f.Reorder}} {
			if !(p.v >= 0 && p.v <= 1) { // also NaN
				bad(d.key+"."+p.name, "want a probability from 0 to 1, got %v", p.v)
			}
		}
		if d.f.Delay < 0 || d.f.Jitter < 0 {
			bad(d.key, "delay and jitter must not be negative")
		}
	}
	c.Broker.validate(bad)
	names := map[string]bool{}
	for i, p := range c.Plugins {
		key := fmt.Sprintf("plugins[%d]", i)
		switch {
		case p.Name == "":
			bad(key+".name", "every plugin needs a name")
		case core.CheckNick(p.Name) != nil:
			bad(key+".name", "a plugin posts under its name, so it must be a valid nickname: %v", core.CheckNick(p.Name))
		case names[p.Name]:
			bad(key+".name", "%q names two plugins", p.Name)
		}
		names[p.Name] = true
		if p.Path == "" {
			bad(key+".path", "every plugin needs the path of its executable")
		}
		if p.SHA256 != "" && !isHex(p.SHA256, 64) {
			bad(key+".sha256", "want 64 hex digits, got %q", p.SHA256)
		}
		if p.Timeout < 0 {
			bad(key+".timeout", "must not be negative, got %v", p.Timeout)
		}
		if p.Policy != "" && p.Policy != "fail-open" && p.Policy != "fail-closed" {
			bad(key+".policy", "want fail-open or fail-closed, got %q", p.Policy)
		}
		for _, e := range p.Events {
			if !slices.Contains([]string{"message", "join", "leave", "rename"}, e) {
				bad(key+".events", "want message, join, leave or rename, got %q", e)
			}
		}
	}
	if len(errs) > 0 {
		return errors.New("config: " + strings.Join(errs, "; "))
	}
	return nil
}

// validate checks the broker's options, calling bad for each wrong one.
func (b *Broker) validate(bad func(key, format string, args ...any)) {
	if !slices.Contains([]string{BrokerMemory, BrokerEmbedded, BrokerNATS}, b.Mode) {
		bad("broker.mode", "want memory, embedded or nats, got %q", b.Mode)
	}
	if !slices.Contains([]int{0, 1, 3, 5}, b.Replicas) {
		bad("broker.replicas", "want 0 (automatic), 1, 3 or 5, got %d", b.Replicas)
	}
	if strings.ContainsFunc(b.Name, unicode.IsSpace) {
		bad("broker.name", "a NATS server name has no spaces, got %q", b.Name)
	}
	cl := b.Cluster
	if cl.Listen != "" {
		if err := CheckHostPort(cl.Listen); err != nil {
			bad("broker.cluster.listen", "%v", err)
		}
		if cl.Name == "" || strings.ContainsFunc(cl.Name, unicode.IsSpace) {
			bad("broker.cluster.name", "want a name without spaces, got %q", cl.Name)
		}
	} else if len(cl.Routes) > 0 {
		bad("broker.cluster.routes", "routes need broker.cluster.listen, where the others reach this server")
	}
	for i, r := range cl.Routes {
		if err := checkNATSURL(r, "nats", "nats-route", "tls"); err != nil {
			bad(fmt.Sprintf("broker.cluster.routes[%d]", i), "%v", err)
		}
	}
	if (cl.User == "") != (cl.Password == "") {
		bad("broker.cluster.user", "route credentials need both user and password, or neither")
	}
	if b.Mode == BrokerNATS {
		if b.URL == "" {
			bad("broker.url", "mode nats needs the URL of the NATS servers, nats://host:port")
		}
	}
	if b.URL != "" {
		for u := range strings.SplitSeq(b.URL, ",") {
			if err := checkNATSURL(strings.TrimSpace(u), "nats", "tls", "ws", "wss"); err != nil {
				bad("broker.url", "%v", err)
			}
		}
	}
	if b.Mode == BrokerEmbedded && b.Replicas > 1 && cl.Listen == "" {
		bad("broker.replicas", "%d copies need a cluster (broker.cluster.listen)", b.Replicas)
	}
	if (b.TLS.Cert == "") != (b.TLS.Key == "") {
		bad("broker.tls", "a certificate needs its key, and a key its certificate (cert %q, key %q)", b.TLS.Cert, b.TLS.Key)
	}
}

// checkNATSURL checks that s is a URL of one of the schemes, with a host
// and a port.
func checkNATSURL(s string, schemes ...string) error {
	u, err := url.Parse(s)
	if err != nil || !slices.Contains(schemes, u.Scheme) || u.Port() == "" || u.Hostname() == "" {
		return fmt.Errorf("want a URL %s://HOST:PORT, got %q", schemes[0], s)
	}
	return nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// SlogLevel parses Level.
func (l Log) SlogLevel() (slog.Level, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(l.Level)); err != nil {
		return 0, fmt.Errorf("want debug, info, warn or error, got %q", l.Level)
	}
	return lv, nil
}

// ReliabilityConfig is the core form of the reliability options.
func (c *Config) ReliabilityConfig() core.ReliabilityConfig {
	return core.ReliabilityConfig{RTO: c.Reliability.RTO, MaxRetries: c.Reliability.MaxRetries,
		Queue: c.Reliability.Queue, Window: c.Reliability.Window}
}

// AutoCodec is the codec setting of a server that speaks every codec that
// recognises its own datagrams, answering each session in its own.
const AutoCodec = "auto"

// Layers holds the implementations the configuration names.
type Layers struct {
	// Suites are every other suite, which a server offers version 2
	// clients beside Suite.
	Suites []core.Suite
	Codec  core.Codec
	// Codecs are the further codecs of an "auto" server.
	Codecs      []core.Codec
	Suite       core.Suite
	Network     core.Network
	Reliability core.Reliability
}

// Layers looks up the configured implementations. Validate has checked the
// names, so an error here means the configuration was not validated.
func (c *Config) Layers() (Layers, error) {
	var l Layers
	var errs [4]error
	if c.Codec == AutoCodec {
		// JSON first: the seed's, and the answer to what no codec claims.
		l.Codec, errs[0] = core.Codecs.Lookup("json")
		for _, name := range core.Codecs.Names() {
			if other, _ := core.Codecs.Lookup(name); name != "json" {
				if _, ok := other.(core.Sniffer); ok {
					l.Codecs = append(l.Codecs, other)
				}
			}
		}
	} else {
		l.Codec, errs[0] = core.Codecs.Lookup(c.Codec)
	}
	l.Suite, errs[1] = core.Suites.Lookup(c.Suite)
	for _, name := range core.Suites.Names() {
		if name != c.Suite {
			other, _ := core.Suites.Lookup(name)
			l.Suites = append(l.Suites, other)
		}
	}
	l.Network, errs[2] = core.Transports.Lookup(c.Transport)
	l.Reliability, errs[3] = core.Reliabilities.Lookup(c.Reliability.Name)
	return l, errors.Join(errs[:]...)
}

// NewLogger returns a logger writing to w at the configured level and format.
func (l Log) NewLogger(w io.Writer) *slog.Logger {
	lv, _ := l.SlogLevel()
	opts := &slog.HandlerOptions{Level: lv}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// CheckHostPort checks that s is HOST:PORT with a port number.
func CheckHostPort(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("want HOST:PORT, got %q", s)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("want a port number from 0 to 65535, got %q", port)
	}
	return nil
}

// checkLoopback checks that s is HOST:PORT with a loopback host: an
// address only this machine reaches (127.0.0.0/8, ::1), or localhost.
func checkLoopback(s string) error {
	if err := CheckHostPort(s); err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(s)
	if host == "localhost" {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Unmap().IsLoopback() {
		return nil
	}
	return fmt.Errorf("want a loopback address (127.0.0.1, [::1] or localhost) with its port, got %q: metrics and pprof are for this machine only", s)
}

// ResolveUDP resolves HOST:PORT to one address, preferring IPv4 as the seed does.
func ResolveUDP(s string) (netip.AddrPort, error) {
	if err := CheckHostPort(s); err != nil {
		return netip.AddrPort{}, err
	}
	a, err := net.ResolveUDPAddr("udp", s)
	if err != nil {
		return netip.AddrPort{}, err
	}
	ap := a.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
