package server

import (
	"fmt"
	"net/http"
	"time"

	"github.com/artifact-store/artstore/pkg/api"
)

// handleGC collects garbage in the daemon's backend (POST /v1/admin/gc).
func (s *Server) handleGC(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.GCRequest
	if err := c.decodeJSON(w, r, &req); err != nil {
		return err
	}
	var grace time.Duration
	if req.Grace != "" {
		d, err := time.ParseDuration(req.Grace)
		if err != nil || d < 0 {
			return codeErr(api.CodeInvalid, fmt.Sprintf("grace: %q is not a non-negative duration (e.g. 1h)", req.Grace))
		}
		grace = d
	}
	c.extendDeadlines(s.limits.IOTimeout * 10) // a large backend takes a while to walk
	rep, res, err := s.svc.GC(r.Context(), c.principal(r), api.GCOptions{Grace: grace, DryRun: req.DryRun})
	if err != nil {
		return err
	}
	s.logger.Info("garbage collected", "actor", c.actor(), "dry_run", req.DryRun, "grace", grace,
		"blobs", len(res.Collected), "bytes", res.Bytes, "spared", res.Spared)
	return writeJSON(w, http.StatusOK, rep)
}
