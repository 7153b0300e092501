package cmdutil

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestPlainBoolFlags(t *testing.T) {
	var all, json bool
	root := &cobra.Command{Use: "root"}
	root.PersistentFlags().BoolVar(&json, "json", false, "print JSON")
	sub := &cobra.Command{Use: "sub", RunE: func(*cobra.Command, []string) error { return nil }}
	sub.Flags().BoolVarP(&all, "all", "a", false, "everything")
	root.AddCommand(sub)
	PlainBoolFlags(root)

	for _, usage := range []string{sub.LocalFlags().FlagUsages(), sub.InheritedFlags().FlagUsages()} {
		if strings.Contains(usage, "[=true|false]") {
			t.Errorf("usage shows [=true|false]:\n%s", usage)
		}
	}
	if u := sub.LocalFlags().FlagUsages(); !strings.Contains(u, "-a, --all ") || !strings.Contains(u, "-h, --help ") {
		t.Errorf("usage:\n%s", u)
	}
	for _, tt := range []struct {
		args          []string
		wantAll, want bool
	}{
		{[]string{"sub", "-a", "--json"}, true, true},
		{[]string{"sub", "--all=false", "--json=true"}, false, true},
		{[]string{"sub"}, false, false},
	} {
		all, json = false, false
		root.SetArgs(tt.args)
		if err := root.Execute(); err != nil {
			t.Fatal(err)
		}
		if all != tt.wantAll || json != tt.want {
			t.Errorf("%v: all=%v json=%v", tt.args, all, json)
		}
		if v, err := sub.Flags().GetBool("all"); err != nil || v != tt.wantAll {
			t.Errorf("%v: GetBool = %v, %v", tt.args, v, err)
		}
	}
}
