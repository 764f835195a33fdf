package plugins

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/proto/handlerpb"
)

// hostServer is the Host service a plugin calls back into, through
// go-plugin's GRPCBroker: posts as the plugin, the list of users, and the
// server's log.
type hostServer struct {
	handlerpb.UnimplementedHostServer
	p *Plugin
}

// newHostServer makes the gRPC server the broker serves Host on; the
// broker passes the options that carry its mTLS credentials.
func (p *Plugin) newHostServer(opts []grpc.ServerOption) *grpc.Server {
	s := grpc.NewServer(opts...)
	handlerpb.RegisterHostServer(s, hostServer{p: p})
	return s
}

func (h hostServer) Post(ctx context.Context, req *handlerpb.PostRequest) (*handlerpb.Empty, error) {
	if err := checkText(req.GetText()); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "post: %v", err)
	}
	m := &core.Message{Kind: core.KindChat, From: h.p.cfg.Name, To: req.GetTo(), Text: req.GetText()}
	switch req.GetKind() {
	case "", "chat":
	case "action":
		m.Kind = core.KindAction
	default:
		return nil, status.Errorf(codes.InvalidArgument, "post: kind %q: want chat or action", req.GetKind())
	}
	if err := h.p.room.Post(ctx, m); err != nil {
		if errors.Is(err, ErrNoRoom) {
			return nil, status.Error(codes.Unavailable, err.Error())
		}
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}
	return &handlerpb.Empty{}, nil
}

func (h hostServer) Users(context.Context, *handlerpb.Empty) (*handlerpb.UsersResponse, error) {
	users := h.p.room.Users()
	resp := &handlerpb.UsersResponse{Users: make([]*handlerpb.User, 0, len(users))}
	for _, u := range users {
		resp.Users = append(resp.Users, &handlerpb.User{Name: u.Name, IdleMs: u.Idle.Milliseconds(), Version: uint32(u.Version)})
	}
	return resp, nil
}

func (h hostServer) Log(ctx context.Context, req *handlerpb.LogRequest) (*handlerpb.Empty, error) {
	var level slog.Level
	switch strings.ToLower(req.GetLevel()) {
	case "debug":
		level = slog.LevelDebug
	case "", "info":
		level = slog.LevelInfo
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		return nil, status.Errorf(codes.InvalidArgument, "log: level %q: want debug, info, warn or error", req.GetLevel())
	}
	// Sorted, since a map has no order and logs are read by people.
	keys := slices.Sorted(maps.Keys(req.GetAttrs()))
	attrs := make([]slog.Attr, 0, len(keys))
	for _, k := range keys {
		attrs = append(attrs, slog.String(k, req.GetAttrs()[k]))
	}
	h.p.log.LogAttrs(ctx, level, req.GetMsg(), attrs...)
	return &handlerpb.Empty{}, nil
}

// checkText applies to what a plugin says the rules the server applies to
// what a client says: text that readers' terminals show as it is.
func checkText(s string) error {
	switch {
	case s == "":
		return errors.New("empty text")
	case !utf8.ValidString(s):
		return errors.New("text is not valid UTF-8")
	}
	for _, r := range s {
		if r != '\t' && unicode.IsControl(r) {
			// An escape sequence would drive the readers' terminals.
			return errors.New("text contains control characters")
		}
	}
	return nil
}
