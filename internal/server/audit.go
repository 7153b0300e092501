package server

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/artifact-store/artstore/pkg/api"
)

// handleAudit lists the events an audit query selects (GET /v1/audit).
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	aq := api.AuditQuery{Ref: q.Get("ref"), Actor: q.Get("actor"), Types: q["type"]}
	var err error
	if aq.Since, err = parseTime("since", q.Get("since")); err != nil {
		return err
	}
	if v := q.Get("limit"); v != "" {
		if aq.Limit, err = strconv.Atoi(v); err != nil {
			return codeErr(api.CodeInvalid, fmt.Sprintf("limit: %q is not an integer", v))
		}
	}
	if q.Has("after") {
		n, err := strconv.ParseInt(q.Get("after"), 10, 64)
		if err != nil || n < 0 {
			return codeErr(api.CodeInvalid, fmt.Sprintf("after: %q is not a sequence number", q.Get("after")))
		}
		aq.After, aq.Forward = n, true
	}
	c.extendDeadlines(s.limits.IOTimeout * 10) // the log is scanned
	evs, err := s.svc.Audit(r.Context(), c.principal(r), aq)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, evs)
}
