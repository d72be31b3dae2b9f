// Command secretexec fetches an app's secrets, checks them against the
// secrets the app requires, and replaces itself with the app, the secrets in
// its environment:
//
//	secretexec [flags] -- node backend
//
// See the README for the flags, variables, manifest and exit codes.
package main

import (
	"os"

	"github.com/secretexec/secretexec/internal/cli"
)

// version is stamped in release builds with -ldflags "-X main.version=v1.2.3";
// otherwise the module version from the build info is used.
var version = ""

func main() {
	os.Exit(cli.Main(os.Args[1:], version))
}
