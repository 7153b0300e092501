package server

import (
	"net/http"

	"github.com/artifact-store/artstore/pkg/api"
)

// handleRetentionApply applies retention (POST /v1/admin/retention/apply).
func (s *Server) handleRetentionApply(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.RetentionApplyRequest
	if err := c.decodeJSON(w, r, &req); err != nil {
		return err
	}
	c.extendDeadlines(s.limits.IOTimeout * 10)
	rep, err := s.svc.ApplyRetention(r.Context(), c.principal(r), req.DryRun)
	if err != nil {
		return err
	}
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
	rs, err := s.svc.RetentionRules(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rs)
}

func (s *Server) handleRuleAdd(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.RetentionRuleRequest
	if err := c.decodeJSON(w, r, &req); err != nil {
		return err
	}
	rule, err := s.svc.AddRetentionRule(r.Context(), c.principal(r), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, rule)
}

func (s *Server) handleRuleRemove(w http.ResponseWriter, r *http.Request, c *call) error {
	rule, err := s.svc.RemoveRetentionRule(r.Context(), c.principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rule)
}

func (s *Server) handleRetentionExplain(w http.ResponseWriter, r *http.Request, c *call) error {
	ref, err := refParam(r)
	if err != nil {
		return err
	}
	v, err := s.svc.ExplainRetention(r.Context(), c.principal(r), ref)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}
