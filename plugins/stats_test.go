package plugins

import (
	"testing"

	"github.com/udpchat/udpchat/internal/testkit"
)

// TestStats: each call to a plugin counts, with its time, across the
// plugins of a set; one that answers nonsense counts as a failure too, a
// good one does not.
func TestStats(t *testing.T) {
	log, _ := newTestLog(t)
	r, set := startRoom(t, log, Config{Name: "garbage", Path: bin(t, "garbage"), Timeout: faultTimeout})
	p := set.Plugins()[0]
	if st := p.Stats(); st.Name != "garbage" || st.State != StateRunning || st.Failures != 0 {
		t.Fatalf("before any message: %+v", st)
	}
	a, b := r.Join(), r.Join()
	before := p.Stats()
	a.Say("hello")
	a.Say("garbage") // a verdict the protocol does not define: passed, fail-open
	b.WaitMessage("the good one", from(a.Name(), "hello"))
	b.WaitMessage("the bad one, passed", from(a.Name(), "garbage"))

	var st Stats
	testkit.WaitUntil(t, "every call timed", func() bool {
		st = set.Stats()[0]
		return st.Latency.Count() == st.Calls
	})
	if st.Calls-before.Calls < 2 || st.Failures-before.Failures != 1 {
		t.Errorf("calls %d→%d, failures %d→%d: want at least 2 more calls and exactly 1 more failure", before.Calls, st.Calls, before.Failures, st.Failures)
	}
	if st.Latency.Sum <= 0 {
		t.Errorf("calls took %vs in all", st.Latency.Sum)
	}
}
