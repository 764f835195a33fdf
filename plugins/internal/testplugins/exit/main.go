// Command exit is a test plugin that exits on "exit", mid-call.
package main

import (
	"context"
	"os"

	"github.com/udpchat/udpchat/plugins/internal/testplugins"
	"github.com/udpchat/udpchat/plugins/sdk"
)

func main() {
	testplugins.Serve(map[string]testplugins.Misbehavior{
		"exit": func(context.Context) (sdk.Verdict, error) {
			os.Exit(3)
			return sdk.Pass(), nil
		},
	})
}
