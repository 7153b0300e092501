package server

import (
	"net/http"
	"time"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/pkg/api"
)

// handleRetentionApply applies retention (POST /v1/admin/retention/apply).
func (s *Server) handleRetentionApply(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.RetentionApplyRequest
	if err := c.decodeJSON(w, r, &req); err != nil {
		return err
	}
	c.extendDeadlines(s.limits.IOTimeout * 10)
	var es []registry.Expiry
	var err error
	if req.DryRun {
		es, err = s.reg.PlanRetention(r.Context())
	} else {
		es, err = s.reg.ApplyRetention(r.Context(), c.actor())
		s.notify()
	}
	if err != nil {
		return err
	}
	rep := app.RetentionReport(es, req.DryRun)
	if !req.DryRun {
		deleted := 0
		for _, e := range rep.Expired {
			if e.Deleted {
				deleted++
			}
		}
		s.logger.Info("retention applied", "actor", c.actor(), "deleted", deleted, "skipped", len(rep.Expired)-deleted)
	}
	return writeJSON(w, http.StatusOK, rep)
}

func (s *Server) handleRuleList(w http.ResponseWriter, r *http.Request, c *call) error {
	rs, err := s.reg.Rules(r.Context())
	if err != nil {
		return err
	}
	out := make([]api.RetentionRule, 0, len(rs))
	for _, x := range rs {
		out = append(out, app.Rule(x))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleRuleAdd(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.RetentionRuleRequest
	if err := c.decodeJSON(w, r, &req); err != nil {
		return err
	}
	var d time.Duration
	if req.ExpireAfter != "" {
		var err error
		if d, err = registry.ParseDuration(req.ExpireAfter); err != nil {
			return err
		}
	}
	rule, err := s.reg.AddRule(r.Context(), c.actor(), req.Pattern, d, req.KeepLast)
	if err != nil {
		return err
	}
	s.notify()
	return writeJSON(w, http.StatusCreated, app.Rule(rule))
}

func (s *Server) handleRuleRemove(w http.ResponseWriter, r *http.Request, c *call) error {
	rule, err := s.reg.RemoveRule(r.Context(), c.actor(), r.PathValue("id"))
	if err != nil {
		return err
	}
	s.notify()
	return writeJSON(w, http.StatusOK, app.Rule(rule))
}

func (s *Server) handleRetentionExplain(w http.ResponseWriter, r *http.Request, c *call) error {
	a, err := s.liveArtifactFor(r, c)
	if err != nil {
		return err
	}
	v, err := s.reg.ExplainRetention(r.Context(), a.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, app.Explanation(v))
}
