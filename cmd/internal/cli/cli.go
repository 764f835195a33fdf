// Package cli is what udpchat's commands share: the flags every command takes,
// loading the configuration through them, the exit codes, and opening a
// log.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/udpchat/udpchat/config"
	"github.com/udpchat/udpchat/internal/version"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitFail  = 1 // something went wrong at run time, or in the configuration
	ExitUsage = 2 // the command line was wrong
)

// commonFlags set options every command has.
var commonFlags = []Flag{
	{Name: "log-level", Key: "log.level", Usage: "log level: debug, info, warn or error"},
	{Name: "codec", Key: "codec", Usage: "wire codec"},
	{Name: "suite", Key: "suite", Usage: "cipher suite"},
	{Name: "reliability", Key: "reliability.name", Usage: "reliability layer"},
}

// Command describes a command's command line.
type Command struct {
	Name     string
	Synopsis string // the usage line after the name
	About    string // one paragraph
	Flags    []Flag
	// Stdout is where --version prints; nil is os.Stdout.
	Stdout io.Writer
}

// Flag is a command-line flag that sets an option of the configuration.
type Flag struct {
	Name  string // the flag, without dashes
	Key   string // the option it sets, e.g. "server.listen"
	Usage string
	Bool  bool // a switch, not a flag with a value
}

// ErrHelp is returned by Parse after printing usage for --help, and
// ErrVersion after printing the version for --version.
var (
	ErrHelp    = errors.New("help requested")
	ErrVersion = errors.New("version requested")
)

// UsageError is a command line that could not be parsed.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Parse parses args, loads the configuration they point to, and returns it
// with the positional arguments. It returns ErrHelp, a *UsageError, or a
// configuration error; Exit turns each into the right message and code.
func (c *Command) Parse(args, environ []string, stderr io.Writer) (config.Config, []string, error) {
	fs := pflag.NewFlagSet(c.Name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	path := fs.String("config", "", "YAML configuration `FILE`")
	showVersion := fs.Bool("version", false, "print the version, the commit it was built from, and exit")
	flags := append(append([]Flag(nil), c.Flags...), commonFlags...)
	for _, f := range flags {
		if f.Bool {
			fs.Bool(f.Name, false, f.Usage)
		} else {
			fs.String(f.Name, "", f.Usage)
		}
	}
	usage := func() {
		fmt.Fprintf(stderr, "usage: %s %s\n\n%s\n\nflags:\n%s\nEvery option can also be set in the configuration file or as an %s environment variable; see config.example.yaml.\n",
			c.Name, c.Synopsis, c.About, fs.FlagUsages(), config.EnvPrefix)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			usage()
			return config.Config{}, nil, ErrHelp
		}
		return config.Config{}, nil, &UsageError{err}
	}
	if *showVersion {
		out := c.Stdout
		if out == nil {
			out = os.Stdout
		}
		fmt.Fprintln(out, version.String(c.Name))
		return config.Config{}, nil, ErrVersion
	}
	keys := make(map[string]string, len(flags))
	for _, f := range flags {
		keys[f.Name] = f.Key
	}
	set := make(map[string]string)
	fs.Visit(func(f *pflag.Flag) {
		if key, ok := keys[f.Name]; ok {
			set[key] = f.Value.String()
		}
	})
	cfg, err := config.Load(*path, environ, set)
	if err != nil {
		return config.Config{}, nil, err
	}
	return cfg, fs.Args(), nil
}

// Exit reports err on stderr, in one line, and returns the exit code for it.
func (c *Command) Exit(err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrHelp), errors.Is(err, ErrVersion):
		return ExitOK
	}
	var ue *UsageError
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "%s: %s (see %s --help)\n", c.Name, msg, c.Name)
		return ExitUsage
	}
	fmt.Fprintf(stderr, "%s: %s\n", c.Name, msg)
	return ExitFail
}

// OpenLog opens the log a command was told to write to: the file at path,
// appended to and created readable by its owner only (a chat log names who
// talked to whom), or stderr for "-". close closes the file, never stderr.
func OpenLog(path string, stderr io.Writer) (w io.Writer, close func(), err error) {
	if path == "-" {
		return stderr, func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}
