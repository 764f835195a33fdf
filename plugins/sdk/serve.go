package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/udpchat/udpchat/proto/handlerpb"
)

// Serve serves h to the udpchat server that started this executable, and
// returns when the server stops the plugin. It is a plugin's whole main:
//
//	func main() { sdk.Serve(myHandler{}) }
//
// Run by hand, outside a server, it says so and exits with status 1.
func Serve(h Handler) {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         plugin.PluginSet{PluginKey: &grpcPlugin{handler: h}},
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}

// grpcPlugin is the plugin side of go-plugin's GRPCPlugin: it registers the
// Handler service. The host side is in package plugins.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	handler Handler
}

var _ plugin.GRPCPlugin = (*grpcPlugin)(nil)

// GRPCServer implements plugin.GRPCPlugin.
func (p *grpcPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	handlerpb.RegisterHandlerServer(s, &server{h: p.handler, broker: broker})
	return nil
}

// GRPCClient implements plugin.GRPCPlugin; a plugin only serves.
func (p *grpcPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("sdk: a plugin serves its handler; the host is in package plugins")
}

// server adapts a Handler to the Handler service.
type server struct {
	handlerpb.UnimplementedHandlerServer
	h      Handler
	broker *plugin.GRPCBroker

	mu   sync.Mutex
	conn *grpc.ClientConn // to the host's Host service
}

// Configure dials the host's Host service, whose broker id the host sends,
// hands it to a Configurer, and tells the host which events h handles.
func (s *server) Configure(_ context.Context, req *handlerpb.ConfigureRequest) (*handlerpb.ConfigureResponse, error) {
	// The broker forgets a service's address 5 s after announcing it, so
	// the dial happens now, not when the plugin first posts.
	conn, err := s.broker.Dial(req.GetBrokerId())
	if err != nil {
		return nil, fmt.Errorf("sdk: reach the host: %w", err)
	}
	s.mu.Lock()
	old := s.conn
	s.conn = conn
	s.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	cfg := req.GetConfig()
	if cfg == nil {
		cfg = map[string]string{}
	}
	if c, ok := s.h.(Configurer); ok {
		if err := c.Configure(cfg, &hostClient{c: handlerpb.NewHostClient(conn)}); err != nil {
			return nil, err
		}
	}
	events := []string{"message"}
	if _, ok := s.h.(RoomEventHandler); ok {
		events = append(events, EventJoin, EventLeave, EventRename)
	}
	resp := &handlerpb.ConfigureResponse{Events: events}
	if b, ok := s.h.(BotHandler); ok {
		for _, name := range b.Bots() {
			resp.Bots = append(resp.Bots, &handlerpb.Bot{Name: name})
		}
	}
	if c, ok := s.h.(Commander); ok {
		for _, cmd := range c.Commands() {
			resp.Commands = append(resp.Commands, &handlerpb.Command{Name: cmd.Name, Usage: cmd.Usage})
		}
	}
	return resp, nil
}

// OnCommand hands a command to h, if h has commands.
func (s *server) OnCommand(ctx context.Context, req *handlerpb.CommandRequest) (*handlerpb.CommandReply, error) {
	c, ok := s.h.(Commander)
	if !ok {
		return nil, fmt.Errorf("sdk: this plugin has no commands, but was sent /%s", req.GetCommand())
	}
	text, err := c.OnCommand(ctx, Call{
		Command: req.GetCommand(),
		From:    req.GetFrom(),
		Args:    req.GetArgs(),
		Time:    time.UnixMilli(req.GetTsMs()),
	})
	if err != nil {
		return nil, err
	}
	return &handlerpb.CommandReply{Text: text}, nil
}

// OnMessage asks h for its verdict.
func (s *server) OnMessage(ctx context.Context, req *handlerpb.MessageEvent) (*handlerpb.Verdict, error) {
	pm := req.GetMessage()
	m := Message{
		Kind: pm.GetKind(),
		ID:   pm.GetId(),
		From: pm.GetFrom(),
		To:   pm.GetTo(),
		Text: pm.GetText(),
		Time: time.UnixMilli(pm.GetTsMs()),
	}
	v, err := s.h.OnMessage(ctx, m)
	if err != nil {
		return nil, err
	}
	out := &handlerpb.Verdict{
		// Cast as is: the host, not the SDK, judges a verdict, so that a
		// plugin in any language meets the same checks.
		Action: handlerpb.Verdict_Action(v.Action),
		Text:   v.Text,
		Reason: v.Reason,
	}
	for _, r := range v.Replies {
		out.Replies = append(out.Replies, &handlerpb.Reply{To: handlerpb.Reply_To(r.To), Text: r.Text})
	}
	return out, nil
}

// OnRoomEvent hands e to h if h handles events.
func (s *server) OnRoomEvent(ctx context.Context, e *handlerpb.RoomEvent) (*handlerpb.Empty, error) {
	if reh, ok := s.h.(RoomEventHandler); ok {
		reh.OnRoomEvent(ctx, RoomEvent{
			Kind:    e.GetEvent(),
			Name:    e.GetName(),
			NewName: e.GetNewName(),
			Why:     e.GetWhy(),
			Time:    time.UnixMilli(e.GetTsMs()),
		})
	}
	return &handlerpb.Empty{}, nil
}

// hostClient is the Host a plugin gets: the host's Host service.
type hostClient struct {
	c handlerpb.HostClient
}

var _ Host = (*hostClient)(nil)

// logTimeout bounds a Log call, which has no context of its own.
const logTimeout = 5 * time.Second

func (h *hostClient) Post(ctx context.Context, text, to string) error {
	if _, err := h.c.Post(ctx, &handlerpb.PostRequest{Text: text, To: to, Kind: KindChat}); err != nil {
		return fmt.Errorf("sdk: post: %w", err)
	}
	return nil
}

func (h *hostClient) Users(ctx context.Context) ([]User, error) {
	resp, err := h.c.Users(ctx, &handlerpb.Empty{})
	if err != nil {
		return nil, fmt.Errorf("sdk: users: %w", err)
	}
	users := make([]User, 0, len(resp.GetUsers()))
	for _, u := range resp.GetUsers() {
		users = append(users, User{
			Name:    u.GetName(),
			Idle:    time.Duration(u.GetIdleMs()) * time.Millisecond,
			Version: int(u.GetVersion()),
			Bot:     u.GetBot(),
		})
	}
	return users, nil
}

func (h *hostClient) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, err := h.c.KVGet(ctx, &handlerpb.KVKey{Key: key})
	if err != nil {
		return nil, false, fmt.Errorf("sdk: kv get %q: %w", key, err)
	}
	return v.GetValue(), v.GetFound(), nil
}

func (h *hostClient) Set(ctx context.Context, key string, value []byte) error {
	if _, err := h.c.KVSet(ctx, &handlerpb.KVPair{Key: key, Value: value}); err != nil {
		return fmt.Errorf("sdk: %w", err)
	}
	return nil
}

func (h *hostClient) Delete(ctx context.Context, key string) error {
	if _, err := h.c.KVDelete(ctx, &handlerpb.KVKey{Key: key}); err != nil {
		return fmt.Errorf("sdk: kv delete %q: %w", key, err)
	}
	return nil
}

func (h *hostClient) Log(level, msg string, attrs ...any) {
	// A slog.Record parses attrs exactly as log/slog does (pairs, Attrs,
	// !BADKEY), so plugin authors get the rules they know.
	r := slog.NewRecord(time.Time{}, slog.LevelInfo, msg, 0)
	r.Add(attrs...)
	m := make(map[string]string, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	ctx, cancel := context.WithTimeout(context.Background(), logTimeout)
	defer cancel()
	if _, err := h.c.Log(ctx, &handlerpb.LogRequest{Level: level, Msg: msg, Attrs: m}); err != nil {
		// The host is gone or slow; stderr still reaches its log, as
		// go-plugin forwards it.
		fmt.Fprintf(os.Stderr, "[%s] %s %v (host log failed: %v)\n", level, msg, m, err)
	}
}
