package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/artifact-store/artstore/pkg/api"
)

// handleFiles streams the entries of a directory artifact as a JSON array,
// one element per entry as the service walks the tree manifest, so the
// route's memory does not grow with the tree. Everything that can fail
// before the first entry (the reference, the prefix, the kind, the
// manifest's integrity) gets an error response; a failure after the
// status line aborts the connection, which leaves the client an
// unterminated array it refuses.
func (s *Server) handleFiles(w http.ResponseWriter, r *http.Request, c *call) error {
	ref, err := refParam(r)
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(&deadlineWriter{w: w, c: c, d: s.limits.IOTimeout}, 32<<10)
	n := 0
	start := func() {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = out.WriteString("[")
	}
	err = s.svc.Files(r.Context(), c.principal(r), ref, func(e api.TreeEntry) error {
		if n == 0 {
			start()
		} else if _, err := out.WriteString(","); err != nil {
			return err
		}
		n++
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode entry %q: %w", e.Path, err)
		}
		_, err = out.Write(append(b, '\n'))
		return err
	})
	if err != nil {
		return err
	}
	if n == 0 {
		start()
	}
	if _, err := out.WriteString("]\n"); err != nil {
		return err
	}
	return out.Flush()
}
