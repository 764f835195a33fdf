// Command sleep is a test plugin that hangs on "sleep": it sleeps an hour,
// deaf to its context, as a plugin stuck in a loop or a lock would.
package main

import (
	"context"
	"time"

	"github.com/udpchat/udpchat/plugins/internal/testplugins"
	"github.com/udpchat/udpchat/plugins/sdk"
)

func main() {
	testplugins.Serve(map[string]testplugins.Misbehavior{
		"sleep": func(context.Context) (sdk.Verdict, error) {
			time.Sleep(time.Hour)
			return sdk.Pass(), nil
		},
	})
}
