package server

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/pkg/api"
)

// handleAudit lists the events an audit query selects (GET /v1/audit).
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	f := registry.AuditFilter{Actor: q.Get("actor"), Types: q["type"]}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return codeErr(api.CodeInvalid, fmt.Sprintf("since: %q is not an RFC 3339 time", v))
		}
		f.Since = t
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return codeErr(api.CodeInvalid, fmt.Sprintf("limit: %q is not an integer", v))
		}
		f.Limit = n
	}
	if q.Has("after") {
		n, err := strconv.ParseInt(q.Get("after"), 10, 64)
		if err != nil || n < 0 {
			return apiErr(http.StatusBadRequest, "invalid", fmt.Sprintf("after: %q is not a sequence number", q.Get("after")))
		}
		f.After, f.Forward = n, true
	}
	if ref := q.Get("ref"); ref != "" {
		a, err := s.artifactFor(r, c, ref)
		if err != nil {
			return err
		}
		f.Subject = a.ID
	}
	c.extendDeadlines(s.limits.IOTimeout * 10) // the log is scanned
	evs, err := s.reg.Audit(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]api.Event, 0, len(evs))
	for _, ev := range evs {
		we, err := app.Event(ev)
		if err != nil {
			return err
		}
		out = append(out, we)
	}
	return writeJSON(w, http.StatusOK, out)
}
