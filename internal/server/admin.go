package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/artifact-store/artstore/pkg/api"
)

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request, c *call) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyTimeout bounds each readiness check.
const readyTimeout = 5 * time.Second

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	out := map[string]string{"log": "ok", "backend": "ok"}
	ok := true
	if _, err := s.log.Head(ctx); err != nil {
		out["log"], ok = err.Error(), false
	}
	if h := s.backend.Health(ctx); !h.Healthy {
		out["backend"], ok = h.Detail, false
	}
	if !ok {
		out["status"] = "unavailable"
		return writeJSON(w, http.StatusServiceUnavailable, out)
	}
	out["status"] = "ok"
	return writeJSON(w, http.StatusOK, out)
}

// parseWait reads the wait parameter: a Go duration ("30s") or seconds.
func parseWait(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 {
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, codeErr(api.CodeInvalid, fmt.Sprintf("wait: %q is not a duration (30s) or a number of seconds", v))
	}
	return d, nil
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	var after int64
	var limit int
	var err error
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			return codeErr(api.CodeInvalid, fmt.Sprintf("after: %q is not a non-negative integer", v))
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 0 {
			return codeErr(api.CodeInvalid, fmt.Sprintf("limit: %q is not a non-negative integer", v))
		}
	}
	wait, err := parseWait(q.Get("wait"))
	if err != nil {
		return err
	}
	wait = min(wait, s.limits.MaxWait)
	var deadline <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		deadline = t.C
		c.extendDeadlines(wait + s.limits.IOTimeout)
	}
	tick := time.NewTicker(s.poll)
	defer tick.Stop()
	for {
		woken := s.svc.Changed()
		evs, err := s.svc.Events(r.Context(), after, limit)
		if err != nil {
			return err
		}
		if len(evs) > 0 || wait == 0 {
			head, err := s.svc.Head(r.Context())
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, api.EventsResponse{Events: evs, Head: head})
		}
		select {
		case <-woken:
		case <-tick.C: // appends by other daemons or processes
		case <-deadline:
			wait = 0
		case <-s.stopping():
			wait = 0
		case <-r.Context().Done():
			return r.Context().Err()
		}
	}
}

func (s *Server) handleVerifyLog(w http.ResponseWriter, r *http.Request, c *call) error {
	var from int64 = 1
	if v := r.URL.Query().Get("from"); v != "" {
		var err error
		if from, err = strconv.ParseInt(v, 10, 64); err != nil || from < 1 {
			return codeErr(api.CodeInvalid, fmt.Sprintf("from: %q is not a positive integer", v))
		}
	}
	c.extendDeadlines(s.limits.IOTimeout * 10) // a long log takes a while
	rep, err := s.svc.VerifyLog(r.Context(), from)
	if err != nil {
		return err
	}
	// A broken chain is an answer, not a failure of the request.
	return writeJSON(w, http.StatusOK, rep)
}

func (s *Server) handleBackendHealth(w http.ResponseWriter, r *http.Request, c *call) error {
	h := s.backend.Health(r.Context())
	return writeJSON(w, http.StatusOK, []api.BackendHealth{{
		ID: s.backend.ID(), Type: s.backendType, Healthy: h.Healthy, Detail: h.Detail,
		TotalBytes: h.TotalBytes, UsedBytes: h.UsedBytes, FreeBytes: h.FreeBytes,
	}})
}

func (s *Server) handleRebuild(w http.ResponseWriter, r *http.Request, c *call) error {
	c.extendDeadlines(s.limits.IOTimeout * 10)
	n, err := s.svc.Rebuild(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int64{"events": n})
}

func (s *Server) handleTokenList(w http.ResponseWriter, r *http.Request, c *call) error {
	ts, err := s.svc.ListTokens(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ts)
}

func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.TokenRequest
	if err := c.decodeJSON(w, r, &req); err != nil {
		return err
	}
	t, err := s.svc.CreateToken(r.Context(), c.principal(r), req)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, t)
}

func (s *Server) handleTokenRevoke(w http.ResponseWriter, r *http.Request, c *call) error {
	t, err := s.svc.RevokeToken(r.Context(), c.principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}
