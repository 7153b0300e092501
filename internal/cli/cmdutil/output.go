package cmdutil

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Table writes aligned columns for human output. Cells must not contain
// tabs or newlines; they are replaced by spaces.
type Table struct {
	tw *tabwriter.Writer
}

// NewTable starts a table on w with the given column headers (printed in
// upper case).
func NewTable(w io.Writer, headers ...string) *Table {
	t := &Table{tw: tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)}
	if len(headers) > 0 {
		up := make([]string, len(headers))
		for i, h := range headers {
			up[i] = strings.ToUpper(h)
		}
		t.Row(up...)
	}
	return t
}

// Row adds a row.
func (t *Table) Row(cells ...string) {
	clean := make([]string, len(cells))
	for i, c := range cells {
		clean[i] = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(c)
	}
	fmt.Fprintln(t.tw, strings.Join(clean, "\t"))
}

// Flush writes the table out.
func (t *Table) Flush() error {
	if err := t.tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}
