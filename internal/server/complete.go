package server

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/artifact-store/artstore/pkg/api"
)

// handleComplete answers GET /v1/complete?ref=PARTIAL[&limit=N]: the
// references that complete a partly typed one (shell completion).
func (s *Server) handleComplete(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	limit := 0
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return codeErr(api.CodeInvalid, fmt.Sprintf("limit: %q is not a positive integer", l))
		}
		limit = n
	}
	cands, err := s.svc.Complete(r.Context(), c.principal(r), q.Get("ref"), limit)
	if err != nil {
		return err
	}
	if cands == nil {
		cands = []string{}
	}
	return writeJSON(w, http.StatusOK, api.Completions{Candidates: cands})
}
