// Command archiver is an example udpchat plugin: it appends the
// conversation to a file, one JSON object a line, and passes every message
// on.
//
// Config: "path", the file (created 0600 if need be, always appended to).
//
//	{"time":"…","kind":"chat","from":"alice","text":"hi"}
//	{"time":"…","kind":"private","from":"alice","to":"bob","text":"psst"}
//	{"time":"…","event":"join","name":"bob"}
//	{"time":"…","event":"rename","name":"bob","new_name":"robert"}
//	{"time":"…","event":"leave","name":"robert","why":"left"}
//
// What it records is the message as it reaches it in the server's chain:
// after a filter configured before it, the filtered text.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/udpchat/udpchat/plugins/sdk"
)

func main() { sdk.Serve(&archiver{}) }

type archiver struct {
	mu   sync.Mutex // messages and events arrive concurrently
	f    *os.File
	host sdk.Host
}

// record is one line of the archive: a message or a room event.
type record struct {
	Time    string `json:"time"`
	Kind    string `json:"kind,omitempty"`
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
	Text    string `json:"text,omitempty"`
	Event   string `json:"event,omitempty"`
	Name    string `json:"name,omitempty"`
	NewName string `json:"new_name,omitempty"`
	Why     string `json:"why,omitempty"`
}

func (a *archiver) Configure(cfg map[string]string, host sdk.Host) error {
	path := cfg["path"]
	if path == "" {
		return errors.New("archiver: config path is missing")
	}
	// O_APPEND makes every write land at the end, even with another
	// writer, and a line written whole is never interleaved.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("archiver: %w", err)
	}
	a.f, a.host = f, host
	return nil
}

func (a *archiver) OnMessage(_ context.Context, m sdk.Message) (sdk.Verdict, error) {
	a.write(record{Time: stamp(m.Time), Kind: m.Kind, From: m.From, To: m.To, Text: m.Text})
	return sdk.Pass(), nil
}

func (a *archiver) OnRoomEvent(_ context.Context, e sdk.RoomEvent) {
	a.write(record{Time: stamp(e.Time), Event: e.Kind, Name: e.Name, NewName: e.NewName, Why: e.Why})
}

// write appends r as a line. A failed write is logged, and the message
// still passes: an archive is no reason to stop a conversation.
func (a *archiver) write(r record) {
	line, err := json.Marshal(r)
	if err == nil {
		a.mu.Lock()
		_, err = a.f.Write(append(line, '\n'))
		a.mu.Unlock()
	}
	if err != nil {
		a.host.Log("error", "archive write failed", "err", err)
	}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
