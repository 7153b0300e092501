//go:build !unix

package testscript_test

import "github.com/rogpeppe/go-internal/testscript"

// fileCommands: the file-kind commands need a unix system; scripts that
// use them skip with [!unix].
func fileCommands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return nil
}

// canMknod: device nodes are a unix feature.
func canMknod() bool { return false }
