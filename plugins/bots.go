package plugins

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/proto/handlerpb"
)

// registration is what a plugin registers as it is configured: its bots'
// names and its commands.
type registration struct {
	bots     []string
	commands []*handlerpb.Command
}

// register reads what resp registers. The names are the server's to
// judge (core.BotSource): it alone knows its built-in commands and
// reserved names.
func register(resp *handlerpb.ConfigureResponse) registration {
	var r registration
	for _, b := range resp.GetBots() {
		r.bots = append(r.bots, b.GetName())
	}
	r.commands = resp.GetCommands()
	return r
}

// same reports whether r and o register the same bots and commands.
func (r registration) same(o registration) bool {
	return slices.Equal(r.bots, o.bots) && slices.EqualFunc(r.commands, o.commands, func(a, b *handlerpb.Command) bool {
		return a.GetName() == b.GetName() && a.GetUsage() == b.GetUsage()
	})
}

var _ core.BotSource = (*Plugin)(nil)

// Bots implements core.BotSource: the bots and commands the plugin
// registered at its first start. The server reads them once; a restarted
// plugin that registers others is logged, and keeps the first.
func (p *Plugin) Bots() core.BotSet {
	set := core.BotSet{Owner: p.cfg.Name}
	for _, name := range p.reg.bots {
		set.Members = append(set.Members, core.Bot{Name: name, Mail: p.mail(name)})
	}
	for _, c := range p.reg.commands {
		set.Commands = append(set.Commands, core.BotCommand{
			Name:  "/" + c.GetName(),
			Usage: c.GetUsage(),
			Run:   p.command(c.GetName()),
		})
	}
	return set
}

// mail is the handler of the private messages to the plugin's bot named
// bot: its OnMessage decides them, whether or not the plugin asked for
// messages, and its replies come from the bot. A rejection's reason is
// told to the sender; nothing else is delivered, as the bot is the
// recipient. A failure is the server's to tell the sender of.
func (p *Plugin) mail(bot string) core.Handler {
	return core.HandlerFunc(func(ctx context.Context, m *core.Message) error {
		d, err := p.verdict(ctx, m)
		if err != nil {
			return fmt.Errorf("plugins: %s: mail to %s: %w", p.cfg.Name, bot, err)
		}
		if d.action == handlerpb.Verdict_REJECT {
			reason := d.reason
			if reason == "" {
				reason = bot + " refused the message"
			}
			return &core.Rejection{Reason: reason}
		}
		p.postReplies(ctx, bot, m, d.replies)
		return nil
	})
}

// command runs the plugin's command name, and sends its answer to the
// caller only, from the plugin.
func (p *Plugin) command(name string) func(ctx context.Context, from, args string) error {
	return func(ctx context.Context, from, args string) error {
		var reply *handlerpb.CommandReply
		err := p.call(ctx, func(ctx context.Context, h handlerpb.HandlerClient) (err error) {
			reply, err = h.OnCommand(ctx, &handlerpb.CommandRequest{Command: name, From: from, Args: args, TsMs: time.Now().UnixMilli()})
			return err
		})
		if err != nil {
			return fmt.Errorf("plugins: %s: /%s: %w", p.cfg.Name, name, err)
		}
		text := reply.GetText()
		if text == "" {
			return nil
		}
		if err := checkText(text); err != nil {
			return fmt.Errorf("plugins: %s: /%s: bad reply: %w", p.cfg.Name, name, err)
		}
		if err := p.room.Post(ctx, &core.Message{Kind: core.KindChat, From: p.cfg.Name, To: from, Text: text}); err != nil {
			p.log.Warn("command reply not posted", "command", name, "to", from, "err", err)
		}
		return nil
	}
}
