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
// go-plugin's GRPCBroker: posts as the plugin, the list of users, the
// server's log, and the plugin's key-value store.
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
		resp.Users = append(resp.Users, &handlerpb.User{Name: u.Name, IdleMs: u.Idle.Milliseconds(), Version: uint32(u.Version), Bot: u.Bot})
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

// kv returns the plugin's store, or the error that it has none.
func (h hostServer) kv() (*kvStore, error) {
	if h.p.kv == nil {
		return nil, status.Errorf(codes.FailedPrecondition, "plugin %s has no key-value store: the server has no state directory for it", h.p.cfg.Name)
	}
	return h.p.kv, nil
}

func (h hostServer) KVGet(_ context.Context, req *handlerpb.KVKey) (*handlerpb.KVValue, error) {
	kv, err := h.kv()
	if err != nil {
		return nil, err
	}
	v, ok := kv.get(req.GetKey())
	return &handlerpb.KVValue{Value: v, Found: ok}, nil
}

func (h hostServer) KVSet(_ context.Context, req *handlerpb.KVPair) (*handlerpb.Empty, error) {
	kv, err := h.kv()
	if err != nil {
		return nil, err
	}
	if err := kv.set(req.GetKey(), req.GetValue()); err != nil {
		code := codes.Internal
		switch {
		case errors.Is(err, errKVFull):
			code = codes.ResourceExhausted
		case errors.Is(err, errKVBadKey):
			code = codes.InvalidArgument
		default:
			h.p.log.Error("key-value store not written", "err", err)
		}
		return nil, status.Errorf(code, "kv set %q: %v", req.GetKey(), err)
	}
	return &handlerpb.Empty{}, nil
}

func (h hostServer) KVDelete(_ context.Context, req *handlerpb.KVKey) (*handlerpb.Empty, error) {
	kv, err := h.kv()
	if err != nil {
		return nil, err
	}
	if err := kv.delete(req.GetKey()); err != nil {
		h.p.log.Error("key-value store not written", "err", err)
		return nil, status.Errorf(codes.Internal, "kv delete %q: %v", req.GetKey(), err)
	}
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
