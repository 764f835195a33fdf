package plugins

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSetReload: a reload keeps the plugins whose configuration and
// executable are unchanged (the same running plugin), starts those that
// are new or changed, and returns those left out, still running, for the
// caller to close; one that fails to start leaves the set as it was.
func TestSetReload(t *testing.T) {
	log, _ := newTestLog(t)
	ctx := context.Background()
	dir := t.TempDir()
	filter := copyFile(t, bin(t, "filter"), dir)
	bot := Config{Name: "bot", Path: bin(t, "bot")}
	state := t.TempDir()
	words := func(w string) Config {
		return Config{Name: "filter", Path: filter, Config: map[string]string{"words": w}, StateDir: state}
	}
	set, err := StartAll(ctx, []Config{bot, words("a")}, new(LateRoom), log)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	old := set.Plugins()

	same, err := set.Reload(ctx, []Config{bot, words("a")}, new(LateRoom), log)
	if err != nil || !slices.Equal(same.Set.Plugins(), old) || len(same.Retired) != 0 || len(same.Started) != 0 {
		t.Fatalf("reload of the same configuration: %v, %d retired, started %q", err, len(same.Retired), Names(same.Started))
	}

	// Bad: a second plugin that cannot start. Nothing changes.
	if _, err := set.Reload(ctx, []Config{bot, words("b"), {Name: "gone", Path: dir + "/nothing"}}, new(LateRoom), log); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Fatalf("reload with a plugin that cannot start: %v", err)
	}
	if got := set.States(); got["bot"] != StateRunning || got["filter"] != StateRunning {
		t.Fatalf("after a failed reload: %v", got)
	}

	// The filter's words changed, the bot left out.
	re, err := set.Reload(ctx, []Config{words("b")}, new(LateRoom), log)
	if err != nil {
		t.Fatal(err)
	}
	next, retired := re.Set, re.Retired
	defer next.Close()
	if got := Names(re.Started); !slices.Equal(got, []string{"filter"}) || next.Plugins()[0] == old[1] {
		t.Fatalf("started %q; want the filter, anew", got)
	}
	if len(retired) != 2 || retired[0] != old[0] || retired[1] != old[1] || retired[0].State() != StateRunning {
		t.Fatalf("retired %v; want the old bot and filter, running", retired)
	}
	if next.Plugins()[0].kv != old[1].kv {
		t.Errorf("the new filter has a store of its own: two copies of one file")
	}

	// The executable rebuilt in place: the same configuration is a new plugin.
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(filter, later, later); err != nil {
		t.Fatal(err)
	}
	again, err := next.Reload(ctx, []Config{words("b")}, new(LateRoom), log)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Set.Close()
	if got := Names(again.Started); !slices.Equal(got, []string{"filter"}) {
		t.Fatalf("after the executable changed, started %q; want the filter", got)
	}
}
