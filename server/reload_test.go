package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/server"
)

// TestReloadLive: Reload changes the rate limit of the sessions already
// there and the message of the day of those that come next; a Live the
// server cannot run with is refused with why, and the one it had stays.
func TestReloadLive(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Server: func(cfg *server.Config) {
		cfg.RateLimit = server.RateLimit{Rate: 1000, Burst: 100}
		cfg.MOTD = "old news"
	}})
	alice := room.Join()
	systemWith(alice, "old news")
	alice.WaitDelivered(alice.Say("at the old rate"), alice.Say("at the old rate, again"))

	slow := server.Live{RateLimit: server.RateLimit{Rate: 0.001, Burst: 1}, MOTD: "fresh news"}
	if err := room.Server.Reload(slow); err != nil {
		t.Fatal(err)
	}
	alice.WaitDelivered(alice.Say("the burst"))
	if _, refused, _ := alice.WaitVerdict(alice.Say("over the new rate")); !strings.HasPrefix(refused, "slow down") {
		t.Fatalf("a line over the new rate: refused %q, want slow down", refused)
	}
	if got := systemWith(room.Join(), "news"); got != "fresh news" {
		t.Fatalf("the message of the day after a reload: %q", got)
	}

	for _, bad := range []server.Live{
		{RateLimit: server.RateLimit{Rate: -1}, MOTD: "bad"},
		{Operators: []string{"SHA256:nonsense"}, MOTD: "bad"},
	} {
		if err := room.Server.Reload(bad); err == nil {
			t.Errorf("Reload(%+v) = nil, want an error", bad)
		}
	}
	if _, refused, _ := alice.WaitVerdict(alice.Say("still over the rate")); !strings.HasPrefix(refused, "slow down") {
		t.Fatalf("after refused reloads: refused %q, want slow down", refused)
	}
	if got := systemWith(room.Join(), "news"); got != "fresh news" {
		t.Fatalf("after refused reloads, the message of the day is %q", got)
	}
}

// TestReloadBans: ReloadBans reads the ban list again from its file, as an
// operator who edited it asks: a ban added there turns out the session it
// holds against, which is told why; a file that is not a ban list changes
// nothing and says so.
func TestReloadBans(t *testing.T) {
	path := filepath.Join(t.TempDir(), server.BansFile)
	bans, err := server.OpenBans(path)
	if err != nil {
		t.Fatal(err)
	}
	room := chattest.Start(t, chattest.Options{Server: func(cfg *server.Config) { cfg.Bans = bans }})
	alice, bob := room.Join(), room.Join()
	// Confirmed, by a line of his own: the server tells the reason only
	// to a client that has proven its address.
	bob.WaitDelivered(bob.Say("here"))
	edit, err := server.OpenBans(path) // the operator's editor
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := edit.Add(server.Ban{Target: "nick:" + bob.Name(), By: "oper", Reason: "edited in", Since: now}, now); err != nil {
		t.Fatal(err)
	}
	if n, err := room.Server.ReloadBans(context.Background()); n != 1 || err != nil {
		t.Fatalf("ReloadBans = %d, %v; want 1 ban", n, err)
	}
	bob.WaitMessage("bob's ban", func(m core.Message) bool {
		return m.Kind == core.KindError && m.Text == "you are banned from this server: oper banned you: edited in"
	})
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := room.Server.ReloadBans(context.Background()); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("ReloadBans of a broken file = %v, want an error naming it", err)
	}
	if got := room.Server.BanList(); len(got) != 1 || got[0].Target != "nick:"+bob.Name() {
		t.Fatalf("after a broken file, the bans are %v; want bob's, as before", got)
	}
	alice.WaitDelivered(alice.Say("still here"))
}
