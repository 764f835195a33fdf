package identity

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// ErrUnsafeMode is matched (errors.Is) by the error for a file, or the
// directory holding one, that group or others may write.
var ErrUnsafeMode = errors.New("writable by group or others")

// CheckNotWritable returns an error, naming what and path and the chmod
// that fixes it, if path exists and group or others may write it; a
// missing path is no error. It is SSH's StrictModes: whoever may write a
// directory may replace any file in it, whatever the file's own mode, and
// whoever may write a file of keys may put their own key in it. Windows
// modes say little, so it checks nothing there.
func CheckNotWritable(what, path string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if perm := st.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("%s %s is %w (mode %#o): anyone who can write it can replace the keys udpchat trusts; run chmod go-w %s",
			what, path, ErrUnsafeMode, perm, path)
	}
	return nil
}

// CheckModes refuses a known_servers file, or the directory it is in,
// that group or others may write (CheckNotWritable); neither need exist
// yet. Check and Lookup refuse such a file too; a program calls this at
// startup, to say so before it connects.
func (k KnownServers) CheckModes() error {
	if err := CheckNotWritable("known_servers directory", filepath.Dir(k.Path)); err != nil {
		return err
	}
	return CheckNotWritable("known_servers file", k.Path)
}
