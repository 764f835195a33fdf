package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/plugins/sdk"
	"github.com/udpchat/udpchat/proto/handlerpb"
)

// Plugin states, as State reports them.
const (
	StateStarting   = "starting"   // Start has not returned yet
	StateRunning    = "running"    // the plugin answers calls
	StateRestarting = "restarting" // its process ended; a new one is on its way
	StateFailed     = "failed"     // the last restart failed; another follows the backoff
	StateStopped    = "stopped"    // closed, or never started
)

var stateNames = [...]string{StateStarting, StateRunning, StateRestarting, StateFailed, StateStopped}

const (
	stStarting int32 = iota
	stRunning
	stRestarting
	stFailed
	stStopped
)

// Restarts and their limits.
const (
	// minBackoff is the wait before restarting a plugin that died; each
	// restart in a row doubles it, up to maxBackoff, so that a plugin that
	// dies at once costs the server a start every 30 s at most.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 30 * time.Second
	// healthyAfter is how long a plugin must have run before its death
	// counts as new trouble, with the backoff back at minBackoff.
	healthyAfter = time.Minute
	// startTimeout bounds a plugin's start: its handshake, then its
	// Configure. A Go plugin starts in milliseconds; this leaves room for
	// a loaded machine.
	startTimeout = 20 * time.Second
	// killGrace bounds go-plugin's Kill, which waits 2 s for a graceful
	// exit; past it the process is killed outright.
	killGrace = 5 * time.Second
	// maxTimeouts is how many calls in a row may time out before a plugin
	// whose process lives on is taken for hung, and restarted: a hung
	// plugin would otherwise cost every message its full timeout.
	maxTimeouts = 3
	// eventQueue bounds the room events waiting for a plugin; past it they
	// are dropped, since the server never waits for a plugin.
	eventQueue = 64
)

// ErrUnavailable is the error of a call to a plugin that is not running:
// restarting, or stopped. Such calls fail at once.
var ErrUnavailable = errors.New("plugins: plugin is not running")

// Plugin is a running plugin executable: a handler in the server's chain
// (Middleware) and a core.RoomObserver. It is safe for concurrent use.
//
// Start launches it; from then on a supervisor goroutine restarts its
// process whenever it ends, until Close.
type Plugin struct {
	cfg      Config
	log      *slog.Logger
	room     core.Room
	override eventSet     // Config.Events, or 0
	reg      registration // bots and commands, as first registered
	kv       *kvStore     // nil without Config.StateDir

	exe   stamp // the executable as it was at Start, for Set.Reload
	state atomic.Int32
	cur   atomic.Pointer[instance] // nil while not running
	wants atomic.Uint32            // eventSet: what it is sent
	stats callStats                // its calls, for Stats

	events    chan core.RoomEvent
	ctx       context.Context // done at Close
	cancel    context.CancelFunc
	wg        sync.WaitGroup // the supervisor and the event sender
	closeOnce sync.Once
}

var _ core.RoomObserver = (*Plugin)(nil)

// instance is one process of a plugin, from its start to its end.
type instance struct {
	client   *plugin.Client
	cmd      *exec.Cmd
	handler  handlerpb.HandlerClient
	done     <-chan struct{} // closed when the process has exited
	events   eventSet        // what it asked for
	reg      registration    // what it registered
	started  time.Time
	serving  sync.WaitGroup // the Host service, served through the broker
	timeouts atomic.Int32   // calls in a row that timed out
	killOnce sync.Once
}

// Start launches the plugin cfg describes and configures it, and returns
// once it answers, or with an error that says why it does not: a missing
// executable, a checksum mismatch, a failed handshake or Configure. ctx
// bounds the plugin's Configure (go-plugin's handshake has its own bound,
// startTimeout); once started, the plugin runs until Close.
//
// room is where the plugin's replies and posts go: usually a LateRoom,
// since the server is made after its handlers. log gets everything the
// plugin does and says, with a "plugin" attribute.
func Start(ctx context.Context, cfg Config, room core.Room, log *slog.Logger) (*Plugin, error) {
	return start(ctx, cfg, room, log, nil)
}

// start is Start, with the key-value store kv if it is not nil: that of
// the process a reload replaces, so that the two never hold two copies
// of one file.
func start(ctx context.Context, cfg Config, room core.Room, log *slog.Logger, kv *kvStore) (*Plugin, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if room == nil {
		return nil, fmt.Errorf("plugins: %s: no room (a LateRoom can be set later)", cfg.Name)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	override, _ := parseEvents(cfg.Events) // checked by cfg.check
	p := &Plugin{
		cfg:      cfg,
		log:      log.With("plugin", cfg.Name),
		room:     room,
		override: override,
		events:   make(chan core.RoomEvent, eventQueue),
		stats:    newCallStats(),
	}
	p.state.Store(stStarting)
	switch {
	case kv != nil:
		p.kv = kv
	case cfg.StateDir != "":
		kv, err := openKV(cfg.StateDir)
		if err != nil {
			return nil, fmt.Errorf("plugins: %s: %w", cfg.Name, err)
		}
		p.kv = kv
	}
	p.exe = stampOf(cfg.Path)
	inst, err := p.launch(ctx)
	if err != nil {
		p.state.Store(stStopped)
		return nil, err
	}
	p.reg = inst.reg
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.publish(inst)
	p.wg.Go(func() { p.supervise(inst) })
	p.wg.Go(p.sendEvents)
	policy := "fail-open"
	if cfg.FailClosed {
		policy = "fail-closed"
	}
	p.log.Info("plugin started", "path", cfg.Path, "events", eventList(eventSet(p.wants.Load())), "policy", policy, "timeout", cfg.Timeout)
	return p, nil
}

// Name is the plugin's configured name.
func (p *Plugin) Name() string { return p.cfg.Name }

// State says how the plugin is: StateStarting, StateRunning,
// StateRestarting, StateFailed or StateStopped.
func (p *Plugin) State() string { return stateNames[p.state.Load()] }

// Close stops the plugin's process and its restarts, and returns once
// every goroutine it started has ended. Calls made after it fail with
// ErrUnavailable.
func (p *Plugin) Close() {
	p.closeOnce.Do(func() {
		p.cancel()
		p.wg.Wait()
		p.state.Store(stStopped)
		p.log.Info("plugin stopped")
	})
}

// launch starts a process of the plugin and configures it.
func (p *Plugin) launch(ctx context.Context) (_ *instance, err error) {
	name := p.cfg.Name
	cmd := exec.Command(p.cfg.Path, p.cfg.Args...)
	if cmd.Err != nil {
		return nil, fmt.Errorf("plugins: %s: %w", name, cmd.Err)
	}
	// go-plugin would append the server's environment after Env, and the
	// last of two values wins: set it first so that Env wins.
	cmd.Env = append(os.Environ(), p.cfg.Env...)
	cc := &plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          plugin.PluginSet{sdk.PluginKey: grpcPlugin{}},
		Cmd:              cmd,
		SkipHostEnv:      true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		// Only this server may talk to the plugin, and it only to this
		// plugin: go-plugin makes a certificate for each side, per start.
		AutoMTLS:     true,
		Managed:      false, // Close kills it, not plugin.CleanupClients
		StartTimeout: startTimeout,
		Logger:       newHCLogger(p.log),
		SyncStdout:   &lineWriter{log: p.log.With("stream", "stdout")},
		SyncStderr:   &lineWriter{log: p.log.With("stream", "stderr")},
	}
	if p.cfg.SHA256 != "" {
		// Checked here first for an error that names both sums; go-plugin
		// checks again just before it runs the file.
		if err := checkSum(name, cmd.Path, p.cfg.SHA256); err != nil {
			return nil, err
		}
		want, _ := hex.DecodeString(p.cfg.SHA256)
		cc.SecureConfig = &plugin.SecureConfig{Checksum: want, Hash: sha256.New()}
	}
	inst := &instance{client: plugin.NewClient(cc), cmd: cmd}
	defer func() {
		// A process that never started needs no killing, and go-plugin's
		// Kill would only log that it "failed to exit gracefully" before
		// the error that says why it never ran.
		if err != nil && cmd.Process != nil {
			inst.kill()
		}
	}()
	rpc, err := inst.client.Client()
	if err != nil {
		var pe *fs.PathError
		if cmd.Process == nil && errors.As(err, &pe) && pe.Path == cmd.Path {
			err = pe.Err // "fork/exec PATH: " would say the path twice
		}
		return nil, fmt.Errorf("plugins: %s: start %s: %w", name, cmd.Path, err)
	}
	raw, err := rpc.Dispense(sdk.PluginKey)
	if err != nil {
		return nil, fmt.Errorf("plugins: %s: %w", name, err)
	}
	c := raw.(*conn)
	inst.handler, inst.done = c.handler, c.done
	// The Host service, for the plugin's callbacks, on a connection of
	// its own; the broker ends it when the client is killed.
	id := c.broker.NextId()
	inst.serving.Go(func() { c.broker.AcceptAndServe(id, p.newHostServer) })

	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	resp, err := inst.handler.Configure(ctx, &handlerpb.ConfigureRequest{Config: p.cfg.Config, BrokerId: id, Name: name})
	if err != nil {
		return nil, fmt.Errorf("plugins: %s: configure: %s", name, status.Convert(err).Message())
	}
	if inst.events, err = parseEvents(resp.GetEvents()); err != nil {
		return nil, fmt.Errorf("plugins: %s: configure: the plugin asks for an %w", name, err)
	}
	inst.reg = register(resp)
	inst.started = time.Now()
	return inst, nil
}

// checkSum compares the SHA-256 of the file at path with want, in hex.
func checkSum(name, path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("plugins: %s: %w", name, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("plugins: %s: %w", name, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, want) {
		return fmt.Errorf("plugins: %s: %s has sha256 %s, but the configuration says %s: %w",
			name, path, got, strings.ToLower(want), plugin.ErrChecksumsDoNotMatch)
	}
	return nil
}

// publish makes inst the one calls go to.
func (p *Plugin) publish(inst *instance) {
	wants := inst.events
	if p.override != 0 {
		wants = p.override
	}
	p.wants.Store(uint32(wants))
	p.cur.Store(inst)
	p.state.Store(stRunning)
}

// supervise waits for inst's process to end, and starts another, until
// Close. It owns the plugin's processes: it kills the last one.
func (p *Plugin) supervise(inst *instance) {
	backoff := minBackoff
	for {
		select {
		case <-p.ctx.Done():
			p.cur.Store(nil)
			inst.kill()
			return
		case <-inst.done:
		}
		// From here calls fail at once, instead of waiting on a dead process.
		p.cur.Store(nil)
		p.state.Store(stRestarting)
		up := time.Since(inst.started)
		inst.kill()
		if up >= healthyAfter {
			backoff = minBackoff
		}
		p.log.Warn("plugin exited; restarting it", "uptime", up.Round(time.Millisecond), "backoff", backoff)
		for inst = nil; inst == nil; {
			select {
			case <-p.ctx.Done():
				return
			case <-time.After(backoff):
			}
			next, err := p.launch(p.ctx)
			backoff = min(2*backoff, maxBackoff)
			if err != nil {
				p.state.Store(stFailed)
				p.log.Error("plugin restart failed", "err", err, "retry_in", backoff)
				continue
			}
			inst = next
		}
		p.publish(inst)
		p.log.Info("plugin restarted")
		if !inst.reg.same(p.reg) {
			// The server learned the bots and commands once, at its start.
			p.log.Warn("plugin registers other bots or commands than at its start; the first stay until the server restarts")
		}
	}
}

// kill ends the process and waits for the Host service to stop. It is
// idempotent.
func (inst *instance) kill() {
	inst.killOnce.Do(func() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			inst.client.Kill()
		}()
		select {
		case <-done:
		case <-time.After(killGrace):
			// Kill asks the plugin to shut down and waits for it; a
			// plugin that does not answer even that is killed.
			inst.forceKill()
			<-done
		}
		inst.serving.Wait()
	})
}

// forceKill kills the process outright; go-plugin then sees it exit.
func (inst *instance) forceKill() {
	if inst.cmd.Process != nil {
		_ = inst.cmd.Process.Kill()
	}
}

// call runs f against the running process, with the plugin's timeout, or
// fails at once if there is none. A call that ends because ctx did (the
// server's deadline for the message, or its shutdown) is the caller's
// doing: it returns ctx's cause, and is no strike against the plugin.
func (p *Plugin) call(caller context.Context, f func(context.Context, handlerpb.HandlerClient) error) (err error) {
	p.stats.calls.Add(1)
	defer func() {
		if err != nil && !errors.Is(err, errAbandoned) {
			p.stats.failures.Add(1)
		}
	}()
	inst := p.cur.Load()
	if inst == nil {
		return ErrUnavailable
	}
	select {
	case <-inst.done:
		return ErrUnavailable
	default:
	}
	ctx, cancel := context.WithTimeout(caller, p.cfg.Timeout)
	defer cancel()
	start := time.Now()
	err = f(ctx, inst.handler)
	p.stats.took(start)
	switch {
	case err == nil:
		inst.timeouts.Store(0)
	case callerGaveUp(caller):
		// gRPC may see the deadline pass before the context's own timer
		// fires: it is past, so the context is done at once, with its cause.
		<-caller.Done()
		err = fmt.Errorf("plugins: %s: %w: %w", p.cfg.Name, errAbandoned, context.Cause(caller))
	case status.Code(err) == codes.DeadlineExceeded:
		err = fmt.Errorf("no answer within %v", p.cfg.Timeout)
		if inst.timeouts.Add(1) == maxTimeouts {
			p.log.Error("plugin does not answer; killing it, to restart it", "timeouts", maxTimeouts)
			inst.forceKill()
		}
	}
	return err
}

// errAbandoned is a call ended by its caller, not failed by the plugin.
var errAbandoned = errors.New("call abandoned by the server")

// callerGaveUp reports whether ctx is done, or its deadline has passed.
func callerGaveUp(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// grpcPlugin is the host side of go-plugin's GRPCPlugin; the plugin side
// is in package sdk.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

var _ plugin.GRPCPlugin = grpcPlugin{}

// GRPCServer implements plugin.GRPCPlugin; the host serves nothing this way.
func (grpcPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("plugins: the host does not serve a handler")
}

// GRPCClient implements plugin.GRPCPlugin. go-plugin passes as ctx its
// doneCtx, which ends when the plugin's process exits: the supervisor's
// signal to restart it.
func (grpcPlugin) GRPCClient(ctx context.Context, b *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &conn{handler: handlerpb.NewHandlerClient(c), broker: b, done: ctx.Done()}, nil
}

// conn is what Dispense returns: the way to one process of a plugin.
type conn struct {
	handler handlerpb.HandlerClient
	broker  *plugin.GRPCBroker
	done    <-chan struct{}
}
