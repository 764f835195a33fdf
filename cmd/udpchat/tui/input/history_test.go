package input

import "testing"

func TestHistoryWalk(t *testing.T) {
	h := NewHistory(0)
	for _, l := range []string{"one", "two", "", "two", "three"} {
		h.Add(l)
	}
	if h.Len() != 3 {
		t.Fatalf("Len = %d, want 3 (empty lines and repeats are not recorded)", h.Len())
	}
	type step struct {
		up   bool
		want string
		ok   bool
	}
	steps := []step{
		{false, "", false}, // Down with no walk does nothing
		{true, "three", true},
		{true, "two", true},
		{true, "one", true},
		{true, "", false}, // the oldest line
		{false, "two", true},
		{false, "three", true},
		{false, "draft", true}, // back to what was being typed
		{false, "", false},
	}
	for i, s := range steps {
		var got string
		var ok bool
		if s.up {
			got, ok = h.Prev("draft")
		} else {
			got, ok = h.Next()
		}
		if got != s.want || ok != s.ok {
			t.Errorf("step %d (up=%v): got %q, %v; want %q, %v", i, s.up, got, ok, s.want, s.ok)
		}
	}
}

func TestHistoryLimit(t *testing.T) {
	h := NewHistory(2)
	h.Add("a")
	h.Add("b")
	h.Add("c")
	if got, _ := h.Prev(""); got != "c" {
		t.Fatalf("newest = %q", got)
	}
	if got, _ := h.Prev(""); got != "b" {
		t.Fatalf("second = %q", got)
	}
	if _, ok := h.Prev(""); ok {
		t.Fatal("a line beyond the limit was kept")
	}
}

func TestHistoryAddEndsWalk(t *testing.T) {
	h := NewHistory(0)
	h.Add("a")
	h.Add("b")
	h.Prev("")
	h.Prev("")
	h.Add("c")
	if got, _ := h.Prev(""); got != "c" {
		t.Fatalf("after Add, Prev = %q, want the newest line", got)
	}
}
