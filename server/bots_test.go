package server_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/server"
)

// botSource is a core.BotSource compiled in: the server needs no plugin
// for bots, only an observer with the capability.
type botSource struct {
	set  core.BotSet
	mu   sync.Mutex
	mail []core.Message // what its bot was sent
}

func (b *botSource) RoomEvent(context.Context, core.RoomEvent) {}

func (b *botSource) Bots() core.BotSet { return b.set }

// newBotRoom starts a room whose one observer is a bot source with the
// bot "robo", whose mail refuses "no", fails on "break" and is kept
// otherwise, and the commands /echo (answered by posting to the caller),
// /fail (a failure) and /deny (a refusal).
func newBotRoom(t *testing.T) (*chattest.Room, *botSource) {
	src := &botSource{}
	var room *chattest.Room
	src.set = core.BotSet{
		Owner: "owner",
		Members: []core.Bot{{Name: "robo", Mail: core.HandlerFunc(func(_ context.Context, m *core.Message) error {
			switch m.Text {
			case "no":
				return &core.Rejection{Reason: "robo says no"}
			case "break":
				return errors.New("broken")
			}
			src.mu.Lock()
			src.mail = append(src.mail, *m)
			src.mu.Unlock()
			return nil
		})}},
		Commands: []core.BotCommand{
			{Name: "/echo", Usage: "/echo TEXT: said back", Run: func(ctx context.Context, from, args string) error {
				return room.Server.Post(ctx, &core.Message{Kind: core.KindChat, From: "robo", To: from, Text: "echo " + args})
			}},
			{Name: "/fail", Run: func(context.Context, string, string) error { return errors.New("broken") }},
			{Name: "/deny", Run: func(context.Context, string, string) error { return &core.Rejection{Reason: "denied"} }},
		},
	}
	room = chattest.Start(t, chattest.Options{Server: func(c *server.Config) {
		c.Observers = append(c.Observers, src)
	}})
	return room, src
}

// TestBotSource: a bot source's bot is in /who and takes /msg, its
// commands run after the built-ins and are in /help, and their failures
// and refusals reach only the caller.
func TestBotSource(t *testing.T) {
	r, src := newBotRoom(t)
	a, b := r.Join(), r.Join()
	b.WaitDelivered(b.Say("here"))

	notice := func(text string) func(core.Message) bool {
		return func(m core.Message) bool { return m.Kind == core.KindSystem && strings.Contains(m.Text, text) }
	}
	refusal := func(text string) func(core.Message) bool {
		return func(m core.Message) bool { return m.Kind == core.KindError && m.Text == text }
	}
	cases := []struct {
		say  string
		want func(core.Message) bool
	}{
		{"/who", notice("robo (bot)")},
		{"/help", notice("/help: this list; /echo TEXT: said back; /fail; /deny;")},
		{"/echo hi there", func(m core.Message) bool {
			return m.Kind == core.KindPrivate && m.From == "robo" && m.Text == "echo hi there"
		}},
		{"/fail", refusal("/fail failed: owner is not answering; try again later")},
		{"/deny", refusal("denied")},
		{"/msg robo no", refusal("robo says no")},
		{"/msg robo break", refusal("robo is not answering; try again later")},
		{"/nick Robo", refusal(`"Robo" is the name of the bot robo`)},
		{"/nosuch", refusal("unknown command /nosuch (/help lists them)")},
	}
	for _, tc := range cases {
		a.Say(tc.say)
		a.WaitMessage(tc.say, tc.want)
	}
	a.WaitDelivered(a.Say("/msg ROBO hello"))
	src.mu.Lock()
	mail := src.mail
	src.mu.Unlock()
	if len(mail) != 1 || mail[0].To != "robo" || mail[0].From != a.Name() || mail[0].Text != "hello" || mail[0].Kind != core.KindPrivate {
		t.Errorf("the bot's mail: %+v, want the one private message hello from %s", mail, a.Name())
	}
	// Nobody else heard any of it.
	a.WaitDelivered(a.Say("done"))
	b.WaitMessage("a's line", func(m core.Message) bool { return m.From == a.Name() && m.Text == "done" })
	for _, m := range b.Messages() {
		if strings.Contains(m.Text, "echo") || strings.Contains(m.Text, "hello") {
			t.Errorf("%s heard %+v", b.Name(), m)
		}
	}
}
