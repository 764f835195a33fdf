// Command garbage is a test plugin that answers nonsense: on "garbage" a
// verdict with an action the protocol does not define, on "garbage-text" a
// replacement that would drive the readers' terminals.
package main

import (
	"context"

	"github.com/udpchat/udpchat/plugins/internal/testplugins"
	"github.com/udpchat/udpchat/plugins/sdk"
)

func main() {
	testplugins.Serve(map[string]testplugins.Misbehavior{
		"garbage": func(context.Context) (sdk.Verdict, error) {
			return sdk.Verdict{Action: 42}, nil
		},
		"garbage-text": func(context.Context) (sdk.Verdict, error) {
			return sdk.Replace("\x1b[2J\x1b[Hcleared"), nil
		},
	})
}
