// Package testplugins makes plugins that misbehave on purpose, for the
// tests of package plugins: each is a main package beside this one that
// calls Serve. Such a plugin passes every message, answers "ping" by
// replacing it with "pong" (so a test can tell that a call succeeded),
// answers "who" with the room's users and "log" by logging through the
// host (so a test can reach the Host service), and misbehaves on its
// trigger texts.
//
// Its configuration may register bots ("bots", comma-separated names) and
// commands ("commands", comma-separated names, with the usage "usage" if
// set): a command named after a
// trigger misbehaves as the trigger does, any other answers Pong to its
// caller; a private message to a bot is answered, privately, with Pong.
package testplugins

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/udpchat/udpchat/plugins/sdk"
)

// The texts a plugin answers, whatever its triggers.
const (
	Ping   = "ping"         // replaced by Pong
	Pong   = "pong"         //
	Who    = "who"          // answered to everyone with the users' names, comma-separated, a bot's with " (bot)"
	Log    = "log"          // logged through the host as LogMsg, with attribute asked=yes
	LogMsg = "asked to log" //
)

// Misbehavior is what a plugin does on a trigger text, instead of a verdict.
type Misbehavior func(ctx context.Context) (sdk.Verdict, error)

// Serve serves a plugin that misbehaves as triggers say.
func Serve(triggers map[string]Misbehavior) { sdk.Serve(&handler{triggers: triggers}) }

type handler struct {
	triggers map[string]Misbehavior
	host     sdk.Host
	bots     []string
	commands []sdk.Command
}

func (h *handler) Configure(cfg map[string]string, host sdk.Host) error {
	h.host = host
	h.bots = list(cfg["bots"])
	for _, c := range list(cfg["commands"]) {
		usage := cmp.Or(cfg["usage"], "/"+c+": a test command")
		h.commands = append(h.commands, sdk.Command{Name: c, Usage: usage})
	}
	return nil
}

// list splits a comma-separated list; "" is none.
func list(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func (h *handler) Bots() []string { return h.bots }

func (h *handler) Commands() []sdk.Command { return h.commands }

func (h *handler) OnCommand(ctx context.Context, c sdk.Call) (string, error) {
	if f := h.triggers[c.Command]; f != nil {
		if _, err := f(ctx); err != nil {
			return "", err
		}
	}
	return Pong + " " + c.From + " " + c.Args, nil
}

func (h *handler) OnMessage(ctx context.Context, m sdk.Message) (sdk.Verdict, error) {
	if m.Kind == sdk.KindPrivate && slices.Contains(h.bots, m.To) {
		return sdk.Drop().WithReply(sdk.ToSender, Pong+" "+m.Text), nil
	}
	switch m.Text {
	case Ping:
		return sdk.Replace(Pong), nil
	case Who:
		users, err := h.host.Users(ctx)
		if err != nil {
			return sdk.Verdict{}, err
		}
		names := make([]string, len(users))
		for i, u := range users {
			names[i] = u.Name
			if u.Bot {
				names[i] += " (bot)"
			}
		}
		return sdk.Pass().WithReply(sdk.ToEveryone, strings.Join(names, ",")), nil
	case Log:
		h.host.Log("warn", LogMsg, "asked", "yes")
		return sdk.Pass(), nil
	}
	if f := h.triggers[m.Text]; f != nil {
		return f(ctx)
	}
	return sdk.Pass(), nil
}
