package cmdutil

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// PlainBoolFlags makes help, man pages and completions show every boolean
// flag of the tree under root as `--json`, not `--json[=true|false]`
// (pflag appends that to any value that reports IsBoolFlag). Parsing does
// not change: a flag given alone is true (NoOptDefVal), and --json=false
// still works. Call it once the tree is complete.
func PlainBoolFlags(root *cobra.Command) {
	plain := func(f *pflag.Flag) {
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
			f.Value = plainBool{f.Value}
			f.NoOptDefVal = "true"
		}
	}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.InitDefaultHelpFlag()
		c.Flags().VisitAll(plain)
		c.PersistentFlags().VisitAll(plain)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// plainBool is a boolean flag value without the IsBoolFlag method.
type plainBool struct{ pflag.Value }
