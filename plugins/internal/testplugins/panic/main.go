// Command panic is a test plugin that panics on "panic": gRPC does not
// recover a handler's panic, so the process dies mid-call.
package main

import (
	"context"

	"github.com/udpchat/udpchat/plugins/internal/testplugins"
	"github.com/udpchat/udpchat/plugins/sdk"
)

func main() {
	testplugins.Serve(map[string]testplugins.Misbehavior{
		"panic": func(context.Context) (sdk.Verdict, error) { panic("testplugins: a panic on purpose") },
	})
}
