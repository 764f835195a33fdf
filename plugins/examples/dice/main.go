// Command dice is an example udpchat plugin that is a member of the room:
// a bot named "dice" (or the config key "bot"), listed by /who, with a
// command of its own.
//
//	/roll [NdM]    rolls N M-sided dice (default 1d6), answered to the caller
//	/msg dice NdM  the same, by private message to the bot
//	/msg dice ...  anything else: how to use it
//
// Every roll counts in the plugin's key-value store, which the server
// keeps across restarts, and each answer says how many rolls there have
// been so far.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/udpchat/udpchat/plugins/examples/internal/dice"
	"github.com/udpchat/udpchat/plugins/sdk"
)

func main() { sdk.Serve(&bot{}) }

type bot struct {
	name string
	host sdk.Host
	mu   sync.Mutex // one count at a time: OnCommand and OnMessage may run at once
}

// rollsKey is the key of the count of rolls.
const rollsKey = "rolls"

func (b *bot) Configure(cfg map[string]string, host sdk.Host) error {
	b.name, b.host = cfg["bot"], host
	if b.name == "" {
		b.name = "dice"
	}
	return nil
}

// Bots makes the plugin a member of the room.
func (b *bot) Bots() []string { return []string{b.name} }

// Commands adds /roll.
func (b *bot) Commands() []sdk.Command {
	return []sdk.Command{{Name: "roll", Usage: "/roll [NdM]: roll N dice with M sides (1d6), for your eyes"}}
}

// OnCommand runs /roll, answered to its caller only.
func (b *bot) OnCommand(ctx context.Context, c sdk.Call) (string, error) {
	return b.roll(ctx, c.From, cmp.Or(c.Args, "1d6"))
}

// OnMessage answers private messages to the bot; it passes all else on,
// though the server sends it nothing else unless configured to.
func (b *bot) OnMessage(ctx context.Context, m sdk.Message) (sdk.Verdict, error) {
	if m.Kind != sdk.KindPrivate || !strings.EqualFold(m.To, b.name) {
		return sdk.Pass(), nil
	}
	answer, err := b.roll(ctx, m.From, strings.TrimSpace(m.Text))
	if err != nil {
		return sdk.Verdict{}, err
	}
	return sdk.Drop().WithReply(sdk.ToSender, answer), nil
}

// roll rolls spec for who, and counts it; a bad spec gets the usage.
func (b *bot) roll(ctx context.Context, who, spec string) (string, error) {
	answer, err := dice.Roll(who, spec)
	if errors.Is(err, dice.ErrSpec) {
		return "I roll dice: /roll NdM, or /msg " + b.name + " NdM: " + err.Error(), nil
	}
	n, err := b.count(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s (roll #%d)", answer, n), nil
}

// count adds a roll to the stored count, and returns it.
func (b *bot) count(ctx context.Context) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, _, err := b.host.Get(ctx, rollsKey)
	if err != nil {
		return 0, err
	}
	n, _ := strconv.Atoi(string(v)) // none yet is 0
	n++
	if err := b.host.Set(ctx, rollsKey, []byte(strconv.Itoa(n))); err != nil {
		return 0, err
	}
	return n, nil
}
