// Command artstore is the artifact registry's command line; see
// internal/cli.
package main

import (
	"os"

	"github.com/artifact-store/artstore/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
