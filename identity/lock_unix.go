//go:build unix

package identity

import (
	"os"

	"golang.org/x/sys/unix"
)

// lockDir holds an exclusive advisory lock (flock) on the directory dir
// until the returned function is called: two clients that first meet a
// server at once must not both record it. The directory, not the file,
// since a file replaced by a rename is another file, and a lock file of
// its own would be litter in the user's directory.
func lockDir(dir string) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil // closing it releases the lock
}
