package dice

import (
	"regexp"
	"strings"
	"testing"
)

func TestRoll(t *testing.T) {
	for _, spec := range []string{"1d2", "2d6", "10d1000", "100d1000", "3D4"} {
		got, err := Roll("u1", spec)
		if err != nil || !strings.HasPrefix(got, "u1 rolled "+strings.ToLower(spec)+": ") {
			t.Errorf("Roll(%q) = %q, %v", spec, got, err)
		}
	}
	if got, _ := Roll("u1", "100d1000"); !regexp.MustCompile(`: [0-9]+$`).MatchString(got) {
		t.Errorf("100 dice list only the total: %q", got)
	}
	for _, spec := range []string{"", "d6", "0d6", "101d6", "2d1", "2d1001", "-1d6", "2d", "xdy", "2d6d6", "1e2d6"} {
		if got, err := Roll("u1", spec); err != ErrSpec {
			t.Errorf("Roll(%q) = %q, %v; want ErrSpec", spec, got, err)
		}
	}
}

func FuzzRoll(f *testing.F) {
	for _, s := range []string{"2d6", "100d1000", "d", "1d", "0d0", "-1d-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		got, err := Roll("u", spec)
		if (err == nil) == (got == "") {
			t.Fatalf("Roll(%q) = %q, %v: want a text or an error", spec, got, err)
		}
	})
}
