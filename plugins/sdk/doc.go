// Package sdk is what a udpchat handler plugin imports: a plugin is an
// executable whose main calls Serve with a Handler, and the udpchat server
// starts it, calls it over gRPC (hashicorp/go-plugin, the protocol in
// proto/handler/v1/handler.proto) on every chat message, and restarts it if
// it dies.
//
// A Handler decides each message with a Verdict: Pass, Replace, Reject or
// Drop, each optionally with replies that the server posts as the plugin
// once the message is delivered. Optional capabilities are found by type
// assertion, as in Caddy: a RoomEventHandler hears joins, leaves and
// renames; a Configurer gets the plugin's configuration and a Host, through
// which it posts on its own (a timer bot, from any goroutine), lists who is
// here, writes to the server's log and keeps state in its Store; a
// BotHandler speaks for bots, members of the room that /who lists and /msg
// reaches; a Commander adds slash commands, which /help lists.
//
// The lifecycle: the server starts the executable, calls Configure once,
// then OnMessage and OnRoomEvent, possibly concurrently, until it stops the
// plugin. A plugin that crashes is started afresh and configured again.
package sdk
