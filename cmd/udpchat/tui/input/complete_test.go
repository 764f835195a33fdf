package input

import "testing"

func TestComplete(t *testing.T) {
	src := Sources{
		Commands: []string{"/help", "/me", "/msg", "/nick", "/quit"},
		Nicks:    []string{"Zoë", "alice", "Alan", "bob", "李雷"},
	}
	tests := []struct {
		name       string
		line       string
		cursor     int // -1: the end of line
		back       bool
		wantLine   string
		wantCursor int
		wantOK     bool
	}{
		{"nick at line start gets a colon", "al", -1, false, "alice: ", 7, true},
		{"case is ignored", "AL", -1, false, "alice: ", 7, true},
		{"nick mid-line gets a space", "hi bo", -1, false, "hi bob ", 7, true},
		{"at sign is kept", "hi @b", -1, false, "hi @bob ", 8, true},
		{"at sign at line start", "@z", -1, false, "@Zoë ", 5, true},
		{"CJK nick", "hey 李", -1, false, "hey 李雷 ", 7, true},
		{"command", "/ms", -1, false, "/msg ", 5, true},
		{"command needs line start", "x /ms", -1, false, "x /ms", 5, false},
		{"nick after /msg", "/msg b", -1, false, "/msg bob ", 9, true},
		{"mid-line cursor keeps the tail", "bo is here", 2, false, "bob: is here", 4, true},
		{"no double space", "hi bo there", 5, false, "hi bob there", 6, true},
		{"shift+tab starts from the last", "/m", -1, true, "/msg ", 5, true},
		{"nothing matches", "xyz", -1, false, "xyz", 3, false},
		{"cursor out of range", "a", 5, false, "a", 5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Completer
			cur := tt.cursor
			if cur < 0 {
				cur = len([]rune(tt.line))
			}
			line, cursor, ok := c.Complete(tt.line, cur, src, tt.back)
			if line != tt.wantLine || cursor != tt.wantCursor || ok != tt.wantOK {
				t.Errorf("Complete(%q, %d) = %q, %d, %v; want %q, %d, %v",
					tt.line, cur, line, cursor, ok, tt.wantLine, tt.wantCursor, tt.wantOK)
			}
		})
	}
}

func TestCompleteCycles(t *testing.T) {
	src := Sources{Nicks: []string{"alice", "Alan", "alice", "bob"}}
	var c Completer
	line, cur := "hi a", 4
	var got []string
	for range 4 {
		var ok bool
		line, cur, ok = c.Complete(line, cur, src, false)
		if !ok {
			t.Fatal("no completion")
		}
		got = append(got, line)
	}
	want := []string{"hi alice ", "hi Alan ", "hi alice ", "hi Alan "}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("cycle = %q, want %q (duplicates dropped, then round again)", got, want)
		}
	}
	line, cur, _ = c.Complete(line, cur, src, true)
	if line != "hi alice " || cur != 9 {
		t.Fatalf("shift+tab = %q, %d", line, cur)
	}
	// Any edit (here: Reset, as the UI does on other keys) starts afresh.
	c.Reset()
	line, _, _ = c.Complete("hi alice b", 10, src, false)
	if line != "hi alice bob " {
		t.Fatalf("after Reset: %q", line)
	}
}
