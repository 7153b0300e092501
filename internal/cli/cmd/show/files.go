package show

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"strconv"

	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/textfmt"
	"github.com/artifact-store/artstore/pkg/client"
)

// listFiles prints the entries of the directory artifact opts.Ref names as
// the store streams them: JSON elements or text lines, one per entry, so
// the output of a tree of any size takes the same memory.
func listFiles(ctx context.Context, opts *Options, cfg *config.Config, store client.Store) error {
	if cfg.Output.JSON {
		arr := cmdutil.NewJSONArray(opts.IO.Out, cfg.Output)
		if err := store.Files(ctx, opts.Ref, func(e client.TreeEntry) error { return arr.Add(e) }); err != nil {
			return err
		}
		return arr.Close()
	}
	w := bufio.NewWriter(opts.IO.Out)
	err := store.Files(ctx, opts.Ref, func(e client.TreeEntry) error {
		_, err := io.WriteString(w, EntryLine(e))
		return err
	})
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	return err
}

// EntryLine renders one tree entry as a line of `show --files`: type and
// permission bits as ls -l writes them, the size and short digest of a
// file, and the path (a directory's with "/", a link's with its target).
func EntryLine(e client.TreeEntry) string {
	size, digest := "", ""
	path := textfmt.Sanitize(e.Path)
	switch e.Type {
	case client.EntryFile:
		size = textfmt.Bytes(e.Size)
		digest = shortDigest(e.Digest)
	case client.EntryDir:
		path += "/"
	case client.EntrySymlink:
		path += " -> " + textfmt.Sanitize(e.Target)
	}
	return fmt.Sprintf("%s  %10s  %-19s  %s\n", modeString(e), size, digest, path)
}

// modeString is the entry's type and permission bits as ls -l writes them
// ("drwxr-xr-x"); a symbolic link, whose bits mean nothing and are stored
// as 0, reads "lrwxrwxrwx" as in ls; an unknown type is "?".
func modeString(e client.TreeEntry) string {
	if e.Type == client.EntrySymlink {
		return "lrwxrwxrwx"
	}
	perm, err := strconv.ParseUint(e.Mode, 8, 32)
	if err != nil {
		perm = 0
	}
	kind := "?"
	switch e.Type {
	case client.EntryFile:
		kind = "-"
	case client.EntryDir:
		kind = "d"
	}
	return kind + fs.FileMode(perm).Perm().String()[1:]
}

// shortDigest keeps the algorithm and the first 12 hex digits of a digest.
func shortDigest(d string) string {
	const keep = len("sha256:") + 12
	if len(d) > keep {
		return d[:keep]
	}
	return d
}
