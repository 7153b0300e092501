package fsck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFirstDifference(t *testing.T) {
	const base = "# tags\n[\"a\",\"prod\",\"1\"]\n[\"b\",\"prod\",\"2\"]\n# labels\n[\"1\",\"k\",\"v\"]\n"
	tests := []struct {
		name, live, replayed, want string
	}{
		{"equal", base, base, ""},
		{"both empty", "", "", ""},
		{"extra live row at the end", base + "[\"2\",\"x\",\"y\"]\n", base, `table labels has an extra live row ["2","x","y"]`},
		{"row missing at the end", base, base + "[\"2\",\"x\",\"y\"]\n", `table labels lacks the row ["2","x","y"]`},
		{"extra live row inside", strings.Replace(base, "[\"b\"", "[\"ab\",\"qa\",\"1\"]\n[\"b\"", 1), base,
			`table tags has an extra live row ["ab","qa","1"]`},
		{"row missing inside", base, strings.Replace(base, "[\"b\"", "[\"ab\",\"qa\",\"1\"]\n[\"b\"", 1),
			`table tags lacks the row ["ab","qa","1"]`},
		{"column changed", strings.Replace(base, `"v"`, `"w"`, 1), base,
			`table labels, row "1" (line 5): column 3 is "w", but "v" when replayed`},
		{"rows that are not JSON", strings.Replace(base, `["1","k","v"]`, `junk`, 1), base,
			`table labels, line 5: live row junk, replayed row ["1","k","v"]`},
		{"a table missing", "# tags\n# labels\n", "# tags\n[\"a\",\"prod\",\"1\"]\n# labels\n", `table tags lacks the row ["a","prod","1"]`},
		{"long rows are clipped", "# t\n[\"" + strings.Repeat("x", 1000) + "\"]\n", "# t\n", `table t has an extra live row ["` + strings.Repeat("x", 200)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			live, replayed := filepath.Join(dir, "live"), filepath.Join(dir, "replayed")
			if err := os.WriteFile(live, []byte(tc.live), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(replayed, []byte(tc.replayed), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := firstDifference(live, replayed)
			if err != nil {
				t.Fatal(err)
			}
			if (tc.want == "") != (got == "") || !strings.HasPrefix(got, tc.want) || len(got) > 400 {
				t.Errorf("firstDifference = %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := firstDifference(filepath.Join(t.TempDir(), "absent"), filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Error("a dump that cannot be opened compares equal")
	}
}
