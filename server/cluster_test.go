package server_test

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/roomlog/memory"
	"github.com/udpchat/udpchat/server"
)

// cluster starts n servers that share one room log and one resume key, as
// servers on NATS JetStream do, each edited by edit (if not nil) after.
func cluster(t *testing.T, n int, edit func(i int, cfg *server.Config)) []*chattest.Room {
	t.Helper()
	log, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() }) // after the servers, which stop first
	key := make([]byte, 32)
	rand.Read(key)
	rooms := make([]*chattest.Room, n)
	for i := range rooms {
		rooms[i] = chattest.Start(t, chattest.Options{Server: func(cfg *server.Config) {
			cfg.RoomLog, cfg.ResumeKey = log, key
			cfg.RateLimit = server.RateLimit{}
			if edit != nil {
				edit(i, cfg)
			}
		}})
	}
	return rooms
}

// TestClusterRoom: two servers share a room's log. Version 2 clients and
// seed clients on each talk at once; every message reaches every client on
// both servers exactly once, but its sender, and every client sees the room
// in one order, the log's. Joins and leaves on one server are announced on
// the other.
func TestClusterRoom(t *testing.T) {
	const perClient = 15
	rooms := cluster(t, 2, nil)
	a, b := rooms[0], rooms[1]
	var v2 []*chattest.Client
	for i, room := range []*chattest.Room{a, b, a, b} {
		v2 = append(v2, room.JoinWith(nick(fmt.Sprintf("u%d%s", i, "ab"[i%2:i%2+1]))))
	}
	v2[0].WaitMessage("a join on the other server", isSystem("u3b joined"))
	seeds := []*chattest.RawClient{joinRaw(t, a, 0), joinRaw(t, b, 1)}

	// Everyone talks at once: the seed clients' first DATA (which joins
	// them), and each version 2 client's lines, interleaved.
	want := map[string]bool{}
	own := map[any][]string{}
	for i, c := range seeds {
		text := fmt.Sprintf("seed%d", i)
		c.SendData(0, text)
		want[text], own[c] = true, []string{text}
	}
	ids := make([][]uint64, len(v2))
	for k := range perClient {
		for i, c := range v2 {
			text := fmt.Sprintf("%s-%02d", c.Name(), k)
			ids[i] = append(ids[i], c.Say(text))
			want[text] = true
			own[c] = append(own[c], text)
		}
	}
	for i, c := range v2 {
		c.WaitDelivered(ids[i]...)
	}

	// Each client is shown every message but its own, once, in the order
	// of their offsets; an offset is one message for every client.
	offset := map[string]uint64{}
	expect := func(who string, mine []string, got []string) {
		t.Helper()
		if len(got) != len(want)-len(mine) {
			t.Fatalf("%s was shown %d messages, want %d: %q", who, len(got), len(want)-len(mine), got)
		}
		seen := map[string]bool{}
		for _, text := range got {
			if !want[text] || seen[text] || slices.Contains(mine, text) {
				t.Fatalf("%s was shown %q, which is not a message of another client, or twice", who, text)
			}
			seen[text] = true
		}
	}
	for _, c := range v2 {
		got := c.WaitChat(len(want) - len(own[c]))
		var texts []string
		for i, m := range got {
			if o, ok := offset[m.Text]; ok && o != m.ID {
				t.Fatalf("%s was shown %q at offset %d, another client at %d", c.Name(), m.Text, m.ID, o)
			}
			offset[m.Text] = m.ID
			if i > 0 && m.ID <= got[i-1].ID {
				t.Fatalf("%s was shown offset %d after %d", c.Name(), m.ID, got[i-1].ID)
			}
			texts = append(texts, m.Text)
		}
		expect(c.Name(), own[c], texts)
	}
	for i, c := range seeds {
		var texts []string
		for range len(want) - 1 {
			_, text, _ := strings.Cut(c.ReadChat(), "> ")
			if n := len(texts); n > 0 && offset[text] <= offset[texts[n-1]] {
				t.Fatalf("seed client %d was shown %q (offset %d) after %q (offset %d)", i, text, offset[text], texts[n-1], offset[texts[n-1]])
			}
			texts = append(texts, text)
		}
		expect(fmt.Sprintf("seed client %d", i), own[c], texts)
		if p := c.Read(100 * time.Millisecond); p != nil && p.Type == core.TypeData {
			plain, _ := c.Keys.Open(nil, p.Payload, nil)
			if !strings.HasPrefix(string(plain), "<"+core.SystemSender+"> ") {
				t.Fatalf("seed client %d was shown %q more", i, plain)
			}
		}
	}

	v2[3].Stop() // says BYE, to server b
	v2[0].WaitMessage("a leave on the other server", isSystem("u3b left"))
	seeds[0].ReadNotice("u3b left")
}
