package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenLog: "-" is stderr, left open; a path is appended to, private to
// its owner, across runs; a path that cannot be opened is an error.
func TestOpenLog(t *testing.T) {
	var stderr bytes.Buffer
	w, closeLog, err := OpenLog("-", &stderr)
	if err != nil || w != &stderr {
		t.Fatalf(`OpenLog("-") = %v, %v; want stderr`, w, err)
	}
	closeLog()

	path := filepath.Join(t.TempDir(), "chat.log")
	for i := range 2 {
		w, closeLog, err := OpenLog(path, &stderr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, "run %d\n", i)
		closeLog()
	}
	if got, _ := os.ReadFile(path); string(got) != "run 0\nrun 1\n" {
		t.Errorf("log holds %q, want both runs appended", got)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("log mode %v (%v), want -rw-------", fi.Mode().Perm(), err)
	}
	if _, _, err := OpenLog(filepath.Join(t.TempDir(), "no", "such", "dir.log"), &stderr); err == nil {
		t.Error("a log in a missing directory opened")
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr got %q", stderr.String())
	}
}
