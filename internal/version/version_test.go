package version_test

import (
	"regexp"
	"testing"

	"github.com/udpchat/udpchat/internal/version"
)

// TestString: the line's form, whatever a test binary recorded (it records
// no revision: go test stamps none).
func TestString(t *testing.T) {
	re := regexp.MustCompile(`^prog \S+ \(rev ([0-9a-f]{12}|unknown), (\S+|unknown)(, modified)?\) go\S+$`)
	if got := version.String("prog"); !re.MatchString(got) {
		t.Errorf("String = %q, want it to match %s", got, re)
	}
	version.Version = "v9.9.9"
	defer func() { version.Version = "" }()
	if got := version.String("prog"); !regexp.MustCompile(`^prog v9\.9\.9 \(`).MatchString(got) {
		t.Errorf("with Version set, String = %q", got)
	}
}
