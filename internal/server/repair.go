package server

import (
	"net/http"

	"github.com/artifact-store/artstore/pkg/api"
)

// handleRepairPlan runs the first step of a repair (POST
// /v1/artifact/repair/plan): the deep check of every blob of the
// artifact, the damaged ones deleted, the missing ones listed. The check
// reads every byte of the artifact, so the connection's deadlines are
// extended as gc extends them.
func (s *Server) handleRepairPlan(w http.ResponseWriter, r *http.Request, c *call) error {
	ref, err := refParam(r)
	if err != nil {
		return err
	}
	c.extendDeadlines(s.limits.IOTimeout * 10)
	plan, err := s.svc.PlanRepair(r.Context(), c.principal(r), ref)
	if err != nil {
		return err
	}
	if len(plan.Missing) > 0 {
		s.logger.Info("repair planned", "actor", c.actor(), "artifact", plan.Artifact.Ref,
			"removed", len(plan.Removed), "missing", len(plan.Missing))
	}
	return writeJSON(w, http.StatusOK, plan)
}

// handleRepairFinish records a repair once the client pushed the source
// (POST /v1/artifact/repair/finish): the source's digests must be the
// artifact's and every blob intact again.
func (s *Server) handleRepairFinish(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.RepairRequest
	if err := c.decodeJSON(w, r, &req); err != nil {
		return err
	}
	ref, err := refParam(r)
	if err != nil {
		return err
	}
	c.extendDeadlines(s.limits.IOTimeout * 10)
	res, err := s.svc.FinishRepair(r.Context(), c.principal(r), ref, req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}
