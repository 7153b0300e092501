package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/gc"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/pkg/api"
)

// Events returns up to limit events (0: 100) after seq, oldest first.
// Waiting for new events is the caller's (local mode polls the log; the
// daemon also wakes on its own appends).
func (s *Service) Events(ctx context.Context, after int64, limit int) ([]api.Event, error) {
	evs, err := s.reg.Events(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	return events(evs)
}

func events(evs []eventlog.Event) ([]api.Event, error) {
	out := make([]api.Event, 0, len(evs))
	for _, e := range evs {
		we, err := Event(e)
		if err != nil {
			return nil, err
		}
		out = append(out, we)
	}
	return out, nil
}

// Head returns the log's last sequence number.
func (s *Service) Head(ctx context.Context) (int64, error) {
	h, err := s.reg.Head(ctx)
	return h.Seq, err
}

// Audit returns the events q selects, oldest first.
func (s *Service) Audit(ctx context.Context, p Principal, q api.AuditQuery) ([]api.Event, error) {
	f := registry.AuditFilter{Actor: q.Actor, Since: q.Since, Types: q.Types, Limit: q.Limit, After: q.After, Forward: q.Forward}
	if q.Ref != "" {
		a, err := s.Resolve(ctx, p, q.Ref)
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		f.Subject = a.ID
	}
	evs, err := s.reg.Audit(ctx, f)
	if err != nil {
		return nil, err
	}
	return events(evs)
}

// VerifyLog checks the event log's hash chain from the event numbered
// from. A broken chain is a report with OK false, not an error; errors
// are I/O.
func (s *Service) VerifyLog(ctx context.Context, from int64) (api.LogReport, error) {
	rep, err := s.reg.VerifyLog(ctx, from)
	var ce *eventlog.ChainError
	if err != nil && !errors.As(err, &ce) && !errors.Is(err, eventlog.ErrTampered) {
		return api.LogReport{}, fmt.Errorf("verify log: %w", err)
	}
	return LogReport(rep), nil
}

// Rebuild rebuilds every view from the event log and returns how many
// events it replayed.
func (s *Service) Rebuild(ctx context.Context) (int64, error) {
	n, err := s.reg.Rebuild(ctx)
	if err != nil {
		return n, fmt.Errorf("rebuild: %w", err)
	}
	return n, nil
}

// AddRetentionRule records a retention rule.
func (s *Service) AddRetentionRule(ctx context.Context, p Principal, req api.RetentionRuleRequest) (api.RetentionRule, error) {
	var d time.Duration
	if req.ExpireAfter != "" {
		var err error
		if d, err = registry.ParseDuration(req.ExpireAfter); err != nil {
			return api.RetentionRule{}, fmt.Errorf("add retention rule: %w", err)
		}
	}
	r, err := s.reg.AddRule(ctx, p.Actor, req.Pattern, d, req.KeepLast)
	if err != nil {
		return api.RetentionRule{}, err
	}
	s.notify()
	return Rule(r), nil
}

// RetentionRules lists the rules in force, oldest first.
func (s *Service) RetentionRules(ctx context.Context) ([]api.RetentionRule, error) {
	rs, err := s.reg.Rules(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.RetentionRule, 0, len(rs))
	for _, r := range rs {
		out = append(out, Rule(r))
	}
	return out, nil
}

// RemoveRetentionRule removes a rule by ID.
func (s *Service) RemoveRetentionRule(ctx context.Context, p Principal, id string) (api.RetentionRule, error) {
	r, err := s.reg.RemoveRule(ctx, p.Actor, id)
	if err != nil {
		return api.RetentionRule{}, err
	}
	s.notify()
	return Rule(r), nil
}

// ApplyRetention deletes (with dryRun: lists) every artifact whose
// retention has run out and that no hold or immutability protects.
func (s *Service) ApplyRetention(ctx context.Context, p Principal, dryRun bool) (*api.RetentionReport, error) {
	var es []registry.Expiry
	var err error
	if dryRun {
		es, err = s.reg.PlanRetention(ctx)
	} else {
		es, err = s.reg.ApplyRetention(ctx, p.Actor)
		s.notify()
	}
	if err != nil && len(es) == 0 {
		return nil, err
	}
	// A failure part way reports what was done before it.
	return RetentionReport(es, dryRun), err
}

// ExplainRetention says what retention weighs for the live artifact ref
// names.
func (s *Service) ExplainRetention(ctx context.Context, p Principal, ref string) (*api.RetentionExplanation, error) {
	a, err := s.Live(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	v, err := s.reg.ExplainRetention(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	return Explanation(v), nil
}

// GC deletes the blobs no live artifact references from the backend,
// recording each batch in a blobs.collected event; opts.DryRun only lists
// them. It is safe while others push (see internal/gc).
func (s *Service) GC(ctx context.Context, p Principal, opts api.GCOptions) (*api.GCReport, gc.Result, error) {
	if opts.Grace < 0 {
		return nil, gc.Result{}, fmt.Errorf("gc: %w: negative grace %s", api.ErrInvalid, opts.Grace)
	}
	res, err := gc.Run(ctx, s.log, s.backend, gc.Options{Actor: p.Actor, Grace: opts.Grace, DryRun: opts.DryRun, Keep: s.ociKeep})
	if len(res.Events) > 0 {
		s.notify()
	}
	if err != nil {
		return nil, res, err
	}
	return GCReport(res), res, nil
}
