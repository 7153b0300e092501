// Command gendocs writes artstore's man pages and shell completion scripts
// from the live command tree:
//
//	go run ./tools/gendocs -man docs/man -completions completions
//
// `make docs` runs it; `make docs-check` runs it into a temporary directory
// and fails when the committed files differ. SOURCE_DATE_EPOCH, if set,
// dates the man pages; otherwise they carry no date, so regenerating them
// changes nothing unless the commands changed.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/artifact-store/artstore/internal/cli"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/docgen"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

func run() error {
	manDir := flag.String("man", "docs/man", "write man pages into `DIR`")
	complDir := flag.String("completions", "completions", "write completion scripts into `DIR`")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	h, err := docgen.DefaultManHeader(os.Getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		return err
	}
	ios, _, _, _ := iostreams.Test()
	// A fresh tree per output: generating completions adds cobra's hidden
	// __complete commands to the tree it runs on.
	if err := docgen.GenManTree(cli.NewRootCmd(cmdutil.New(ios, nil)), *manDir, h); err != nil {
		return err
	}
	return docgen.GenCompletions(cli.NewRootCmd(cmdutil.New(ios, nil)), *complDir)
}
