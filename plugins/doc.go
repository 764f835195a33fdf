// Package plugins runs udpchat's handler plugins: executables the server
// starts and calls over gRPC with hashicorp/go-plugin (the protocol is
// proto/handler/v1/handler.proto, the plugin side is package sdk), as
// DESIGN.md's "Plugins" section describes.
//
// A Plugin is one executable. Its Middleware puts it in the server's
// handler chain, where it passes, changes, refuses or silently drops each
// chat and action message (and private message, if configured Private),
// and may answer it; as a core.RoomObserver it hears joins, leaves and
// renames, and as a core.BotSource it brings the bots and slash commands
// the plugin registered into the room; through the Host service it serves
// back to the plugin, the plugin posts on its own and keeps its state in a
// bounded key-value store under Config.StateDir.
//
// go-plugin never restarts a plugin, so a Plugin does: a plugin that
// crashes, exits or stops answering is started again with exponential
// backoff and configured afresh, and while it is down its calls fail at
// once. A failed call never holds a message longer than the plugin's
// timeout, and the plugin's policy decides the message: fail open passes
// it, fail closed refuses it. All of it is logged under the plugin's name.
//
// The server is built from its handlers, and the plugins need the server
// (as the core.Room they post to) from the start, so the room is given
// late, through a LateRoom:
//
//	room := new(plugins.LateRoom)
//	set, err := plugins.StartAll(ctx, cfgs, room, log)
//	...
//	defer set.Close()
//	srv, err := server.New(server.Config{
//		Handlers:  set.Middlewares(),
//		Observers: set.Observers(),
//		...
//	})
//	...
//	room.Set(srv)
package plugins
