package server_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/server"
)

// joinedCount reads how many joins an announcement tells of: "a joined",
// "a and b joined", "a, b and c joined", "a, b, c and 12 others joined".
func joinedCount(text string) int {
	names, ok := strings.CutSuffix(text, " joined")
	if !ok {
		return 0
	}
	if i := strings.LastIndex(names, " and "); i >= 0 {
		if n, ok := strings.CutSuffix(names[i+len(" and "):], " others"); ok {
			k, _ := strconv.Atoi(n)
			return len(strings.Split(names[:i], ", ")) + k
		}
		return len(strings.Split(names[:i], ", ")) + 1 // "and b", "and 1 other"
	}
	return 1
}

// TestPresenceGathered: in a large room, joins are announced together, so
// a thousand joins do not cost a million announcements; every one is still
// told of.
func TestPresenceGathered(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Server: func(cfg *server.Config) {
		cfg.HandshakeLimit = server.RateLimit{} // as if from many addresses
	}})
	alice := room.JoinWith(nick("alice"))
	const joins = 80
	for i := range joins {
		c := room.Raw()
		c.Handshake(chattest.Keys.Key(i % 4))
		// A seed client joins with its first DATA, which proves its
		// address; a command, so that no message of its own calls for
		// its join to be announced first.
		c.SendData(0, "/help")
	}
	var announcements int
	alice.WaitUntil(fmt.Sprintf("%d joins announced", joins), func(ms []core.Message) bool {
		told := 0
		announcements = 0
		for _, m := range ms {
			if m.Kind == core.KindSystem {
				if n := joinedCount(m.Text); n > 0 {
					told += n
					announcements++
				}
			}
		}
		return told >= joins
	})
	t.Logf("%d joins in %d announcements", joins, announcements)
	if announcements >= joins {
		t.Fatalf("%d announcements for %d joins: none gathered", announcements, joins)
	}
}

func TestJoinedCount(t *testing.T) {
	for text, want := range map[string]int{
		"a joined":                        1,
		"a and b joined":                  2,
		"a, b and c joined":               3,
		"a, b, c and 1 other joined":      4,
		"a, b, c and 12 others joined":    15,
		"a left":                          0,
		"127.0.0.1:5000 joined":           1,
		"a, b, c and 40 others timed out": 0,
	} {
		if got := joinedCount(text); got != want {
			t.Errorf("joinedCount(%q) = %d, want %d", text, got, want)
		}
	}
}
