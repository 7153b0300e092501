package server

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/artifact-store/artstore/pkg/api"
)

// queryInt reads the non-negative integer query parameter name; absent
// is def.
func queryInt(r *http.Request, name string, def int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, codeErr(api.CodeInvalid, fmt.Sprintf("%s: %q is not a non-negative integer", name, v))
	}
	return n, nil
}

func (s *Server) handleLogKey(w http.ResponseWriter, r *http.Request, c *call) error {
	k, err := s.svc.LogKey(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, k)
}

func (s *Server) handleCheckpoint(w http.ResponseWriter, r *http.Request, c *call) error {
	cp, err := s.svc.Checkpoint(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, cp)
}

// handleInclusionProof: ?seq= (required) and ?size= (0 or absent: the
// current tree).
func (s *Server) handleInclusionProof(w http.ResponseWriter, r *http.Request, c *call) error {
	if r.URL.Query().Get("seq") == "" {
		return codeErr(api.CodeInvalid, "seq: the event's sequence number is required")
	}
	seq, err := queryInt(r, "seq", 0)
	if err != nil {
		return err
	}
	size, err := queryInt(r, "size", 0)
	if err != nil {
		return err
	}
	p, err := s.svc.InclusionProof(r.Context(), seq, size)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

// handleConsistencyProof: ?old= (required) and ?new= (0 or absent: the
// current tree).
func (s *Server) handleConsistencyProof(w http.ResponseWriter, r *http.Request, c *call) error {
	if r.URL.Query().Get("old") == "" {
		return codeErr(api.CodeInvalid, "old: the earlier tree size is required")
	}
	old, err := queryInt(r, "old", 0)
	if err != nil {
		return err
	}
	nw, err := queryInt(r, "new", 0)
	if err != nil {
		return err
	}
	p, err := s.svc.ConsistencyProof(r.Context(), old, nw)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

// handleImport streams an evidence bundle (the request body, a tar) into
// Service.Import, which verifies it as it reads and registers its
// artifacts only if all of it verifies. Write scope; a token with a name
// prefix imports only bundles whose artifacts are all under it.
func (s *Server) handleImport(w http.ResponseWriter, r *http.Request, c *call) error {
	body := &deadlineReader{r: r.Body, c: c, d: s.limits.IOTimeout}
	res, err := s.svc.Import(r.Context(), c.principal(r), body, r.URL.Query().Get("key"))
	if err != nil {
		return err
	}
	s.metrics.blobBytesIn.Add(res.Bytes)
	return writeJSON(w, http.StatusOK, res)
}

// handleExport streams the evidence bundle of the refs in the body
// (app.Service.Export) as a tar. Everything that can fail before the
// first byte (the references, the prefix, the closure, the key, the
// events) gets an error response; a failure after the status line aborts
// the connection, which leaves the client a truncated tar it refuses.
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.ExportRequest
	if err := c.decodeJSON(w, r, &req); err != nil {
		return err
	}
	// Gathering the events scans the log before the first byte.
	c.extendDeadlines(s.limits.IOTimeout * 10)
	out := &headerFirstWriter{w: w, out: &deadlineWriter{w: w, c: c, d: s.limits.IOTimeout}, status: http.StatusOK,
		header: map[string]string{"Content-Type": "application/x-tar"}}
	_, err := s.svc.Export(r.Context(), c.principal(r), req, out)
	return err
}
