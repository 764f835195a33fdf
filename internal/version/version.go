// Package version says which build of udpchat a program is, from what the
// Go toolchain stamped into it (runtime/debug.ReadBuildInfo): the module's
// version (a tag for `go install …@v1.2.3`, "(devel)" for a build from a
// checkout) and the commit it was built from, when, and whether the tree
// had changes. A release build may set Version with -ldflags -X.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version, when set at link time (-ldflags "-X
// github.com/udpchat/udpchat/internal/version.Version=v1.2.3"), is the
// version a program reports instead of the module's.
var Version string

// String is the version line of program name:
//
//	udpchat-server v1.2.3 (rev 0123456789ab, 2026-12-06T05:00:00Z, modified) go1.26.0
//
// with "unknown" for what the build did not record.
func String(name string) string {
	v, rev, at, modified := "unknown", "unknown", "unknown", false
	if info, ok := debug.ReadBuildInfo(); ok {
		if info.Main.Version != "" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
				if len(rev) > 12 {
					rev = rev[:12]
				}
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if Version != "" {
		v = Version
	}
	dirty := ""
	if modified {
		dirty = ", modified"
	}
	return fmt.Sprintf("%s %s (rev %s, %s%s) %s", name, v, rev, at, dirty, runtime.Version())
}
