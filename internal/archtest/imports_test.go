package archtest

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/udpchat/udpchat"

// axes are the folders of the swappable parts: one package per
// implementation below each, beside the axis's conformance suite.
var axes = []string{"codec", "cipher", "transport", "reliability", "roomlog", "presence"}

// rule says which packages of the module a group of packages may import.
type rule struct {
	name  string
	in    func(pkg string) bool // the packages the rule is about
	allow func(pkg, dep string) bool
}

func under(pkg, dir string) bool { return pkg == dir || strings.HasPrefix(pkg, dir+"/") }

// implementation reports whether pkg implements one axis: codec/json, not
// codec/codectest.
func implementation(pkg string) bool {
	for _, a := range axes {
		if under(pkg, a) && pkg != a && !strings.HasSuffix(strings.SplitN(pkg, "/", 3)[1], "test") {
			return true
		}
	}
	return false
}

// implementationOf returns the implementation dep belongs to, or "".
func implementationOf(dep string) string {
	if !implementation(dep) {
		return ""
	}
	parts := strings.SplitN(dep, "/", 3)
	return parts[0] + "/" + parts[1]
}

// harness reports whether pkg may import everything: the programs and the
// test harnesses.
func harness(pkg string) bool {
	return under(pkg, "cmd") || under(pkg, "examples") || pkg == "chattest" || pkg == "standard"
}

var rules = []rule{
	{
		name:  "core imports nothing of the module",
		in:    func(p string) bool { return under(p, "core") },
		allow: func(p, d string) bool { return under(d, "core") },
	},
	{
		name: "the engines import no implementation (they get them from the registries, wired in cmd/)",
		in:   func(p string) bool { return under(p, "server") || under(p, "client") },
		allow: func(p, d string) bool {
			return d == "core" || d == "identity" || under(d, "internal") || under(d, p)
		},
	},
	{
		name: "an implementation imports only core, its own packages, proto/ for a codec, and internal/settle for one on JetStream",
		in:   implementation,
		allow: func(p, d string) bool {
			return d == "core" || under(d, implementationOf(p)) || under(p, "codec") && under(d, "proto") ||
				d == "internal/settle" // the retry of what a forming cluster refuses, which the broker shares
		},
	},
	{
		name: "a conformance suite imports only core and the shared test helpers",
		in: func(p string) bool {
			for _, a := range axes {
				if under(p, a) && !implementation(p) && p != a {
					return true
				}
			}
			return false
		},
		allow: func(p, d string) bool { return d == "core" || d == "internal/testkit" },
	},
	{
		name: "only cmd/, examples/, standard and the test harnesses import implementations",
		in:   func(p string) bool { return !harness(p) && !implementation(p) },
		allow: func(p, d string) bool {
			return !implementation(d) && !harness(d)
		},
	},
}

type listed struct {
	ImportPath string
	Imports    []string
}

// packages lists the module's packages and the module packages each one's
// non-test files import, with the module path cut off; and for each, the
// packages of other modules it imports (the standard library's aside).
func packages(t *testing.T) (pkgs, others map[string][]string) {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs, others = map[string][]string{}, map[string][]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var l listed
		if err := dec.Decode(&l); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		p := strings.TrimPrefix(strings.TrimPrefix(l.ImportPath, module), "/")
		var deps []string
		for _, d := range l.Imports {
			switch {
			case d == module || strings.HasPrefix(d, module+"/"):
				deps = append(deps, strings.TrimPrefix(strings.TrimPrefix(d, module), "/"))
			case strings.Contains(strings.Split(d, "/")[0], "."):
				others[p] = append(others[p], d)
			}
		}
		pkgs[p] = deps
	}
	return pkgs, others
}

// prometheusAllowed reports whether pkg may import prometheus/client_golang
// (or any prometheus module): only metrics, which reports the server's own
// counters to it, and the program that serves them. The engine, the
// plugins and the logs count with atomics and know nothing of it.
func prometheusAllowed(pkg string) bool { return under(pkg, "metrics") || pkg == "cmd/servercmd" }

// TestImportRules: the folders are the architecture. A package that
// imports what its place in the layout forbids fails here, naming the
// import and the rule (docs/DESIGN.md says why each rule is there).
func TestImportRules(t *testing.T) {
	pkgs, others := packages(t)
	for _, want := range []string{"core", "server", "client", "codec/json", "cipher/seed", "transport/udp", "reliability/stopwait", "cmd/udpchat-server"} {
		if _, ok := pkgs[want]; !ok {
			t.Fatalf("go list did not list %s: the layout this test checks has changed", want)
		}
	}
	names := make([]string, 0, len(pkgs))
	for p := range pkgs {
		names = append(names, p)
	}
	slices.Sort(names)
	for _, p := range names {
		for _, r := range rules {
			if !r.in(p) {
				continue
			}
			for _, d := range pkgs[p] {
				if !r.allow(p, d) {
					t.Errorf("%s imports %s: %s", p, d, r.name)
				}
			}
		}
		for _, d := range others[p] {
			if strings.HasPrefix(d, "github.com/prometheus/") && !prometheusAllowed(p) {
				t.Errorf("%s imports %s: only metrics and cmd/servercmd import prometheus", p, d)
			}
		}
	}
	if !slices.Contains(others["metrics"], "github.com/prometheus/client_golang/prometheus") {
		t.Errorf("metrics imports no prometheus: the rule above checks nothing")
	}
}

// TestRulesCatch: each rule refuses the import it exists to refuse, so
// that a rule cannot quietly stop matching anything.
func TestRulesCatch(t *testing.T) {
	tests := []struct{ pkg, dep, rule string }{
		{"core", "server", "core imports nothing of the module"},
		{"core", "codec/json", "core imports nothing of the module"},
		{"server", "codec/json", "the engines import no implementation"},
		{"client", "reliability/window", "the engines import no implementation"},
		{"server", "config", "the engines import no implementation"},
		{"codec/json", "server", "an implementation imports only core"},
		{"cipher/seed", "codec/json", "an implementation imports only core"},
		{"transport/fault", "transport/udp", "an implementation imports only core"},
		{"reliability/window", "reliability/stopwait", "an implementation imports only core"},
		{"roomlog/memory", "server", "an implementation imports only core"},
		{"roomlog/roomlogtest", "roomlog/memory", "a conformance suite imports only core"},
		{"codec/codectest", "codec/json", "a conformance suite imports only core"},
		{"plugins", "codec/json", "only cmd/, examples/, standard"},
		{"config", "reliability/stopwait", "only cmd/, examples/, standard"},
		{"identity", "chattest", "only cmd/, examples/, standard"},
	}
	for _, tt := range tests {
		refused := false
		for _, r := range rules {
			if r.in(tt.pkg) && !r.allow(tt.pkg, tt.dep) && strings.HasPrefix(r.name, tt.rule) {
				refused = true
			}
		}
		if !refused {
			t.Errorf("%s importing %s is not refused by the rule %q", tt.pkg, tt.dep, tt.rule)
		}
	}
	allowed := []struct{ pkg, dep string }{
		{"server", "core"}, {"client", "identity"}, {"server", "internal/replay"},
		{"codec/protobuf", "proto/packetpb"}, {"codec/json", "core"},
		{"roomlog/memory", "core"}, {"cmd/udpchat", "codec/json"}, {"chattest", "transport/udp"}, {"standard", "cipher/modern"},
	}
	for _, a := range allowed {
		for _, r := range rules {
			if r.in(a.pkg) && !r.allow(a.pkg, a.dep) {
				t.Errorf("%s importing %s is refused by %q, but the layout allows it", a.pkg, a.dep, r.name)
			}
		}
	}
}
