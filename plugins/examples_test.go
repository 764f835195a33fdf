package plugins

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
)

func TestBot(t *testing.T) {
	log, _ := newTestLog(t)
	// Private: the bot answers private questions too.
	r, _ := startRoom(t, log, Config{Name: "bot", Path: bin(t, "bot"), Private: true})
	a, b := r.Join(), r.Join()

	// The clients fail the test they were made in, so there are no
	// subtests: a block each.

	// A roll, answered to everyone, after the question.
	{
		a.WaitDelivered(a.Say("!roll 2d6"))
		answer := regexp.MustCompile(`^` + a.Name() + ` rolled 2d6: ([1-6]) \+ ([1-6]) = ([0-9]+)$`)
		for _, c := range []*chattest.Client{a, b} {
			got := c.WaitMessage("the bot's roll", func(m core.Message) bool { return m.From == "bot" && answer.MatchString(m.Text) })
			d := answer.FindStringSubmatch(got.Text)
			x, _ := strconv.Atoi(d[1])
			y, _ := strconv.Atoi(d[2])
			if sum, _ := strconv.Atoi(d[3]); sum != x+y {
				t.Errorf("%s: %q does not add up", c.Name(), got.Text)
			}
		}
		// The answer comes after the question.
		msgs := b.Messages()
		q := indexOf(msgs, from(a.Name(), "!roll 2d6"))
		ans := indexOf(msgs, func(m core.Message) bool { return m.From == "bot" && answer.MatchString(m.Text) })
		if q < 0 || q > ans {
			t.Errorf("%s got the question at %d and the answer at %d: %v", b.Name(), q, ans, msgs)
		}
	}
	// Bad dice get the usage.
	{
		for _, bad := range []string{"!roll 0d6", "!roll 101d6", "!roll 2d1", "!roll 2d1001", "!roll", "!roll d6", "!roll 2x6"} {
			a.Say(bad)
		}
		testkit.WaitUntil(t, "seven usage replies", func() bool {
			n := 0
			for _, m := range b.Messages() {
				if m.From == "bot" && strings.HasPrefix(m.Text, "usage: !roll NdM") {
					n++
				}
			}
			return n == 7
		})
	}
	// The time, in UTC.
	{
		a.Say("!time")
		got := b.WaitMessage("the bot's time", func(m core.Message) bool {
			_, err := time.Parse(time.RFC3339, m.Text)
			return m.From == "bot" && err == nil
		})
		when, _ := time.Parse(time.RFC3339, got.Text)
		if d := time.Since(when); d < -time.Minute || d > time.Minute || !strings.HasSuffix(got.Text, "Z") {
			t.Errorf("!time said %q, %v from now", got.Text, d)
		}
	}
	// Help.
	{
		a.Say("!help")
		b.WaitMessage("the bot's help", func(m core.Message) bool { return m.From == "bot" && strings.Contains(m.Text, "!roll NdM") })
	}
	// A private question gets a private answer.
	{
		a.WaitDelivered(a.Say("/msg " + b.Name() + " !help"))
		a.WaitMessage("a private answer", func(m core.Message) bool {
			return m.From == "bot" && m.Kind == core.KindPrivate && strings.HasPrefix(m.Text, "commands:")
		})
	}
}

// TestBotTick is a bot posting on its own, through the Host, from a
// goroutine of its own.
func TestBotTick(t *testing.T) {
	log, _ := newTestLog(t)
	r, _ := startRoom(t, log, Config{Name: "clock", Path: bin(t, "bot"), Config: map[string]string{"tick": "100ms"}})
	c := r.Join()
	c.WaitMessage("a tick", func(m core.Message) bool { return m.From == "clock" && strings.HasPrefix(m.Text, "the time is ") })
}

// startFilter starts a room with the filter plugin configured with words
// and mode, and joins two clients to it.
func startFilter(t *testing.T, words, mode string) (a, b *chattest.Client) {
	t.Helper()
	log, _ := newTestLog(t)
	r, _ := startRoom(t, log, Config{Name: "filter", Path: bin(t, "filter"),
		Config: map[string]string{"words": words, "mode": mode}})
	return r.Join(), r.Join()
}

func TestFilterReplace(t *testing.T) {
	a, b := startFilter(t, "darn, Heck", "replace")
	a.Say("oh DARN it, heckle the heck!")
	a.Say("/me says darn")
	a.Say("all clean")
	b.WaitMessage("the starred text", from(a.Name(), "oh **** it, heckle the ****!"))
	b.WaitMessage("the starred action", func(m core.Message) bool { return m.Kind == core.KindAction && m.Text == "says ****" })
	b.WaitMessage("the clean text", from(a.Name(), "all clean"))
	never(t, b, "DARN")
	never(t, b, "darn")
	never(t, b, "heck!")
}

func TestFilterDrop(t *testing.T) {
	a, b := startFilter(t, "heck", "drop")
	a.Say("what the HECK")
	a.WaitMessage("the reason", refused("message contains a filtered word"))
	a.Say("heckle is fine")
	b.WaitMessage("the clean text", from(a.Name(), "heckle is fine"))
	never(t, b, "HECK")
}

// archived is a line of the archiver's file.
type archived struct {
	Time, Kind, From, To, Text, Event, Name, NewName, Why string
}

// readArchive reads the archive at path; a missing file is empty.
func readArchive(t testing.TB, path string) []archived {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []archived
	s := bufio.NewScanner(f)
	for s.Scan() {
		var raw map[string]string
		if err := json.Unmarshal(s.Bytes(), &raw); err != nil {
			t.Fatalf("archive line %q: %v", s.Text(), err)
		}
		if _, err := time.Parse(time.RFC3339Nano, raw["time"]); err != nil {
			t.Errorf("archive line %q: time: %v", s.Text(), err)
		}
		out = append(out, archived{Time: raw["time"], Kind: raw["kind"], From: raw["from"], To: raw["to"], Text: raw["text"],
			Event: raw["event"], Name: raw["name"], NewName: raw["new_name"], Why: raw["why"]})
	}
	return out
}

// waitArchive waits until the archive at path holds every one of want
// (compared without time).
func waitArchive(t testing.TB, path string, want ...archived) []archived {
	t.Helper()
	var got []archived
	testkit.WaitUntil(t, "the archive", func() bool {
		got = readArchive(t, path)
		for _, w := range want {
			if indexOf(got, func(a archived) bool { a.Time = ""; return a == w }) < 0 {
				return false
			}
		}
		return true
	})
	return got
}

func TestArchiver(t *testing.T) {
	log, _ := newTestLog(t)
	path := filepath.Join(t.TempDir(), "archive.jsonl")
	r, _ := startRoom(t, log, Config{Name: "archiver", Path: bin(t, "archiver"), Config: map[string]string{"path": path}, Private: true})
	a, b := r.Join(), r.Join()
	a.Say("hello")
	b.Say("/me waves")
	a.Say("/msg " + b.Name() + " psst")
	a.Say("/nick alice")
	b.WaitMessage("the private message", from(a.Name(), "psst"))
	b.Stop()
	waitArchive(t, path,
		archived{Event: "join", Name: a.Name()},
		archived{Event: "join", Name: b.Name()},
		archived{Kind: "chat", From: a.Name(), Text: "hello"},
		archived{Kind: "action", From: b.Name(), Text: "waves"},
		archived{Kind: "private", From: a.Name(), To: b.Name(), Text: "psst"},
		archived{Event: "rename", Name: a.Name(), NewName: "alice"},
		archived{Event: "leave", Name: b.Name(), Why: "left"},
	)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("archive: %v, mode %v, want 0600", err, fi.Mode().Perm())
	}
}

// TestChainOrder runs the filter before the archiver: the archive holds
// what the room saw, the filtered text.
func TestChainOrder(t *testing.T) {
	log, _ := newTestLog(t)
	path := filepath.Join(t.TempDir(), "archive.jsonl")
	r, _ := startRoom(t, log,
		Config{Name: "filter", Path: bin(t, "filter"), Config: map[string]string{"words": "secret"}},
		Config{Name: "archiver", Path: bin(t, "archiver"), Config: map[string]string{"path": path}, Events: []string{"message"}},
	)
	a, b := r.Join(), r.Join()
	a.Say("the secret plan")
	b.WaitMessage("the filtered text", from(a.Name(), "the ****** plan"))
	got := waitArchive(t, path, archived{Kind: "chat", From: a.Name(), Text: "the ****** plan"})
	for _, line := range got {
		if strings.Contains(line.Text, "secret") {
			t.Errorf("the archive holds %q", line.Text)
		}
		if line.Event != "" {
			// Events: ["message"] overrides what the archiver asks for.
			t.Errorf("the archive holds a room event, though the archiver was sent only messages: %+v", line)
		}
	}
}

func indexOf[T any](s []T, match func(T) bool) int {
	for i, v := range s {
		if match(v) {
			return i
		}
	}
	return -1
}
