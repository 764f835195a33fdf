package plugins

import (
	"bytes"
	"context"
	"io"
	"log"
	"log/slog"
	"slices"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// hclogger is the hclog.Logger go-plugin gets: it writes to the server's
// slog logger. go-plugin logs through it both its own news (starts, exits)
// and every line the plugin writes to its stderr, which the plugin side of
// go-plugin writes as hclog JSON and the host side parses back into a level
// and attributes; a panic's stack trace arrives there as errors.
type hclogger struct {
	log     *slog.Logger // with the implied args and the name
	base    *slog.Logger // without either, for Named and ResetNamed
	name    string
	implied []any
}

var _ hclog.Logger = (*hclogger)(nil)

func newHCLogger(l *slog.Logger) *hclogger { return &hclogger{log: l, base: l} }

// levelTrace is below slog's Debug, as hclog's Trace is below its Debug.
const levelTrace = slog.LevelDebug - 4

func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return levelTrace
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	}
	return slog.LevelInfo
}

func (h *hclogger) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off {
		return
	}
	h.log.Log(context.Background(), slogLevel(level), msg, renameKeys(args)...)
}

// renameKeys renames go-plugin's "plugin" attribute, the executable's path,
// to "executable": our "plugin" attribute is the plugin's name, which logs
// are searched by.
func renameKeys(args []any) []any {
	for i := 0; i < len(args)-1; i += 2 {
		if k, ok := args[i].(string); ok && k == "plugin" {
			args = slices.Clone(args)
			args[i] = "executable"
		}
	}
	return args
}

func (h *hclogger) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hclogger) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hclogger) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hclogger) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hclogger) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *hclogger) enabled(l hclog.Level) bool {
	return h.log.Enabled(context.Background(), slogLevel(l))
}

func (h *hclogger) IsTrace() bool { return h.enabled(hclog.Trace) }
func (h *hclogger) IsDebug() bool { return h.enabled(hclog.Debug) }
func (h *hclogger) IsInfo() bool  { return h.enabled(hclog.Info) }
func (h *hclogger) IsWarn() bool  { return h.enabled(hclog.Warn) }
func (h *hclogger) IsError() bool { return h.enabled(hclog.Error) }

func (h *hclogger) ImpliedArgs() []any { return slices.Clone(h.implied) }

func (h *hclogger) With(args ...any) hclog.Logger {
	args = renameKeys(args)
	c := *h
	c.implied = append(slices.Clip(h.implied), args...)
	c.log = h.log.With(args...)
	return &c
}

func (h *hclogger) Name() string { return h.name }

func (h *hclogger) Named(name string) hclog.Logger {
	if h.name != "" {
		name = h.name + "." + name
	}
	return h.ResetNamed(name)
}

func (h *hclogger) ResetNamed(name string) hclog.Logger {
	c := *h
	c.name = name
	c.log = h.base.With(h.implied...)
	if name != "" {
		c.log = c.log.With("logger", name)
	}
	return &c
}

// SetLevel does nothing: the server's slog handler decides what is logged.
func (h *hclogger) SetLevel(hclog.Level) {}

// GetLevel is the lowest level the slog handler logs. go-plugin asks, to
// skip parsing the plugin's lines that would be thrown away.
func (h *hclogger) GetLevel() hclog.Level {
	for l := hclog.Trace; l <= hclog.Error; l++ {
		if h.enabled(l) {
			return l
		}
	}
	return hclog.Off
}

func (h *hclogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	level := slog.LevelInfo
	if opts != nil && opts.ForceLevel != hclog.NoLevel {
		level = slogLevel(opts.ForceLevel)
	}
	return slog.NewLogLogger(h.log.Handler(), level)
}

func (h *hclogger) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	return h.StandardLogger(opts).Writer()
}

// lineWriter logs what a plugin writes to its standard output or error (go-plugin
// carries both over gRPC), a line a record.
type lineWriter struct {
	log *slog.Logger
	mu  sync.Mutex
	buf []byte
}

// maxLine bounds a line kept waiting for its end, so that a plugin writing
// without newlines cannot grow the server's memory.
const maxLine = 64 << 10

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > maxLine {
		w.emit(w.buf)
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

func (w *lineWriter) emit(line []byte) {
	if line = bytes.TrimRight(line, "\r"); len(line) > 0 {
		w.log.Info(string(line))
	}
}
