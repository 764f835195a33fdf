// Command bot is an example udpchat plugin: a bot that answers commands in
// the room, and may also speak on its own.
//
//	!roll NdM   rolls N M-sided dice (1 <= N <= 100, 2 <= M <= 1000)
//	!time       the time, in UTC (RFC 3339)
//	!help       these commands
//
// It answers the room, or privately a private message, after the question,
// which it passes on untouched. With the config key "tick" set to a Go
// duration ("1h"), it also says the time that often, unprompted: posting
// through the Host from a goroutine of its own.
package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/udpchat/udpchat/plugins/examples/internal/dice"
	"github.com/udpchat/udpchat/plugins/sdk"
)

func main() { sdk.Serve(&bot{}) }

type bot struct{}

const (
	help       = "commands: !roll NdM (N dice with M sides), !time (UTC), !help"
	rollUsage  = "usage: !roll NdM, with 1 <= N <= 100 dice and 2 <= M <= 1000 sides, e.g. !roll 2d6"
	timeFormat = time.RFC3339
)

// Configure starts the ticker if asked to.
func (b *bot) Configure(cfg map[string]string, host sdk.Host) error {
	tick := cfg["tick"]
	if tick == "" {
		return nil
	}
	every, err := time.ParseDuration(tick)
	if err != nil || every <= 0 {
		return fmt.Errorf("bot: tick %q: want a positive duration such as 1h", tick)
	}
	// The goroutine lives as long as the process: the server ends the
	// plugin by ending its process.
	go func() {
		for range time.Tick(every) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := host.Post(ctx, "the time is "+time.Now().UTC().Format(timeFormat), ""); err != nil {
				host.Log("warn", "tick not posted", "err", err)
			}
			cancel()
		}
	}()
	return nil
}

// OnMessage answers the commands it knows, and passes every message on.
func (b *bot) OnMessage(_ context.Context, m sdk.Message) (sdk.Verdict, error) {
	cmd, arg, _ := strings.Cut(strings.TrimSpace(m.Text), " ")
	var answer string
	switch cmd {
	case "!roll":
		answer = roll(m.From, strings.TrimSpace(arg))
	case "!time":
		answer = time.Now().UTC().Format(timeFormat)
	case "!help":
		answer = help
	default:
		return sdk.Pass(), nil
	}
	to := sdk.ToEveryone
	if m.Kind == sdk.KindPrivate {
		to = sdk.ToSender // a private question gets a private answer
	}
	return sdk.Pass().WithReply(to, answer), nil
}

// roll rolls the dice of spec, "NdM", for who; a bad spec gets the usage.
func roll(who, spec string) string {
	answer, err := dice.Roll(who, spec)
	if err != nil {
		return rollUsage
	}
	return answer
}
