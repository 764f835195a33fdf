package plugins

import (
	"context"
	"errors"
	"fmt"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/proto/handlerpb"
)

// maxReplies bounds the replies to one message, so that a plugin cannot
// turn one message into a flood.
const maxReplies = 10

// Middleware puts the plugin in the server's handler chain. If the plugin
// wants messages, every chat and action message, and every private one if
// its configuration says private, goes to its OnMessage, for at most its
// timeout, and its verdict decides it:
//
//   - PASS hands it on; REPLACE hands it on with the plugin's text;
//   - REJECT refuses it, and the sender is told the plugin's reason;
//   - DROP ends it there, silently: the sender's message is acknowledged
//     and relayed to nobody.
//
// Replies are posted as the plugin after the message has been delivered,
// so that an answer comes after its question: after the rest of the chain
// returned without error for PASS and REPLACE, at once for DROP, never for
// REJECT.
//
// A failure (a crash, a timeout, a plugin that is restarting, a verdict
// that makes no sense) is logged, and the policy decides the message:
// fail open hands it on untouched, fail closed refuses it with "NAME is
// unavailable".
func (p *Plugin) Middleware() core.Middleware {
	return func(next core.Handler) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, m *core.Message) error {
			if !p.wantsMessage(m) {
				return next.HandleMessage(ctx, m)
			}
			d, err := p.verdict(ctx, m)
			if errors.Is(err, errAbandoned) {
				// The server gave up on the message (its handler
				// deadline): not the plugin's failure, so not the
				// policy's to decide, and no use passing it on.
				return err
			}
			if err != nil {
				return p.fail(ctx, m, next, err)
			}
			switch d.action {
			case handlerpb.Verdict_REJECT:
				reason := d.reason
				if reason == "" {
					reason = "refused by plugin " + p.cfg.Name
				}
				p.log.Debug("message refused", "id", m.ID, "from", m.From, "reason", reason)
				return &core.Rejection{Reason: reason}
			case handlerpb.Verdict_DROP:
				p.log.Debug("message dropped", "id", m.ID, "from", m.From)
				p.postReplies(ctx, p.cfg.Name, m, d.replies)
				return nil
			case handlerpb.Verdict_REPLACE:
				m.Text = d.text
			}
			if err := next.HandleMessage(ctx, m); err != nil {
				return err
			}
			p.postReplies(ctx, p.cfg.Name, m, d.replies)
			return nil
		})
	}
}

// wantsMessage says whether m goes to the plugin: what people say to the
// room, if the plugin asked for messages, and what they say privately only
// if its configuration also says private.
func (p *Plugin) wantsMessage(m *core.Message) bool {
	switch m.Kind {
	case core.KindPrivate:
		if !p.cfg.Private {
			return false
		}
	case core.KindChat, core.KindAction:
	default:
		return false
	}
	return eventSet(p.wants.Load())&evMessage != 0
}

// verdict asks the plugin what becomes of m, and checks its answer.
func (p *Plugin) verdict(ctx context.Context, m *core.Message) (decision, error) {
	var v *handlerpb.Verdict
	err := p.call(ctx, func(ctx context.Context, h handlerpb.HandlerClient) (err error) {
		v, err = h.OnMessage(ctx, &handlerpb.MessageEvent{Message: &handlerpb.Message{
			Kind: m.Kind.String(),
			Id:   m.ID,
			From: m.From,
			To:   m.To,
			Text: m.Text,
			TsMs: m.Time.UnixMilli(),
		}})
		return err
	})
	if err != nil {
		return decision{}, err
	}
	d, err := decide(v)
	if err != nil {
		p.stats.failures.Add(1) // a call that answered nonsense
	}
	return d, err
}

// fail applies the plugin's policy to m, after err.
func (p *Plugin) fail(ctx context.Context, m *core.Message, next core.Handler, err error) error {
	if p.cfg.FailClosed {
		p.log.Warn("plugin failed; message refused (fail-closed)", "id", m.ID, "from", m.From, "err", err)
		return &core.Rejection{Reason: p.cfg.Name + " is unavailable"}
	}
	p.log.Warn("plugin failed; message passed (fail-open)", "id", m.ID, "from", m.From, "err", err)
	return next.HandleMessage(ctx, m)
}

// decision is a verdict that has been checked.
type decision struct {
	action       handlerpb.Verdict_Action
	text, reason string
	replies      []reply
}

type reply struct {
	everyone bool
	text     string
}

// decide checks a plugin's verdict. Whatever is not a verdict the protocol
// defines, or carries text the server would refuse from a client, is an
// error: the plugin is broken, and its policy applies.
func decide(v *handlerpb.Verdict) (decision, error) {
	d := decision{action: v.GetAction(), text: v.GetText(), reason: v.GetReason()}
	switch d.action {
	case handlerpb.Verdict_PASS, handlerpb.Verdict_DROP:
	case handlerpb.Verdict_REPLACE:
		if err := checkText(d.text); err != nil {
			return d, fmt.Errorf("bad verdict: replace: %w", err)
		}
	case handlerpb.Verdict_REJECT:
		if d.reason != "" {
			if err := checkText(d.reason); err != nil {
				return d, fmt.Errorf("bad verdict: reject: reason: %w", err)
			}
		}
	default:
		return d, fmt.Errorf("bad verdict: unknown action %d", int32(d.action))
	}
	if len(v.GetReplies()) > maxReplies {
		return d, fmt.Errorf("bad verdict: %d replies, at most %d", len(v.GetReplies()), maxReplies)
	}
	for _, r := range v.GetReplies() {
		switch r.GetTo() {
		case handlerpb.Reply_SENDER, handlerpb.Reply_EVERYONE:
		default:
			return d, fmt.Errorf("bad verdict: reply to unknown recipient %d", int32(r.GetTo()))
		}
		if err := checkText(r.GetText()); err != nil {
			return d, fmt.Errorf("bad verdict: reply: %w", err)
		}
		d.replies = append(d.replies, reply{everyone: r.GetTo() == handlerpb.Reply_EVERYONE, text: r.GetText()})
	}
	return d, nil
}

// postReplies posts the plugin's replies to m, as from: the plugin, or
// the bot m was sent to.
func (p *Plugin) postReplies(ctx context.Context, from string, m *core.Message, replies []reply) {
	for _, r := range replies {
		post := &core.Message{Kind: core.KindChat, From: from, Text: r.text}
		if r.everyone {
			post.Room = m.Room // an answer goes where its question was asked
		} else {
			post.To = m.From
		}
		if err := p.room.Post(ctx, post); err != nil {
			p.log.Warn("reply not posted", "to", post.To, "err", err)
		}
	}
}
