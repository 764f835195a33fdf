// Command udpchat-server runs a udpchat server: with no configuration it
// listens on 0.0.0.0:12345 and speaks the seed protocol, like the seed's server.
// The program is cmd/servercmd; this command gives it udpchat's standard
// codecs, cipher suites, reliability layers and transports.
package main

import (
	"github.com/udpchat/udpchat/cmd/servercmd"
	"github.com/udpchat/udpchat/standard"
)

func main() {
	standard.Register()
	servercmd.Main()
}
