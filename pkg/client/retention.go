package client

import (
	"context"
	"net/url"
	"time"

	"github.com/artifact-store/artstore/internal/registry"
)

// AddRetentionRule records a retention rule.
func (l *Local) AddRetentionRule(ctx context.Context, req RetentionRuleRequest) (*RetentionRule, error) {
	r, err := l.svc.AddRetentionRule(ctx, l.self, req)
	if err != nil {
		return nil, mapErr(err)
	}
	return &r, nil
}

// RetentionRules lists the rules in force, oldest first.
func (l *Local) RetentionRules(ctx context.Context) ([]RetentionRule, error) {
	rs, err := l.svc.RetentionRules(ctx)
	return rs, mapErr(err)
}

// RemoveRetentionRule removes a rule by ID.
func (l *Local) RemoveRetentionRule(ctx context.Context, id string) (*RetentionRule, error) {
	r, err := l.svc.RemoveRetentionRule(ctx, l.self, id)
	if err != nil {
		return nil, mapErr(err)
	}
	return &r, nil
}

// ApplyRetention deletes (with dryRun: lists) every artifact whose retention
// has run out and that no hold or immutability protects.
func (l *Local) ApplyRetention(ctx context.Context, dryRun bool) (*RetentionReport, error) {
	rep, err := l.svc.ApplyRetention(ctx, l.self, dryRun)
	return rep, mapErr(err)
}

// ExplainRetention says what retention weighs for the artifact ref names.
func (l *Local) ExplainRetention(ctx context.Context, ref string) (*RetentionExplanation, error) {
	v, err := l.svc.ExplainRetention(ctx, l.self, ref)
	return v, mapErr(err)
}

// AddRetentionRule records a retention rule (admin scope).
func (r *Remote) AddRetentionRule(ctx context.Context, req RetentionRuleRequest) (*RetentionRule, error) {
	var out RetentionRule
	if err := r.do(ctx, request{method: "POST", path: "/v1/retention/rules", body: req, out: &out}); err != nil {
		return nil, mapErr(err)
	}
	return &out, nil
}

// RetentionRules lists the rules in force.
func (r *Remote) RetentionRules(ctx context.Context) ([]RetentionRule, error) {
	var out []RetentionRule
	if err := r.do(ctx, request{method: "GET", path: "/v1/retention/rules", idempotent: true, out: &out}); err != nil {
		return nil, mapErr(err)
	}
	return out, nil
}

// RemoveRetentionRule removes a rule by ID (admin scope).
func (r *Remote) RemoveRetentionRule(ctx context.Context, id string) (*RetentionRule, error) {
	var out RetentionRule
	if err := r.do(ctx, request{method: "DELETE", path: "/v1/retention/rules/" + url.PathEscape(id), out: &out}); err != nil {
		return nil, mapErr(err)
	}
	return &out, nil
}

// ApplyRetention has the daemon apply retention (admin scope).
func (r *Remote) ApplyRetention(ctx context.Context, dryRun bool) (*RetentionReport, error) {
	var out RetentionReport
	if err := r.do(ctx, request{method: "POST", path: "/v1/admin/retention/apply", body: RetentionApplyRequest{DryRun: dryRun}, out: &out}); err != nil {
		return nil, mapErr(err)
	}
	return &out, nil
}

// ExplainRetention asks the daemon what retention weighs for ref.
func (r *Remote) ExplainRetention(ctx context.Context, ref string) (*RetentionExplanation, error) {
	var out RetentionExplanation
	q := url.Values{"ref": {ref}}
	if err := r.do(ctx, request{method: "GET", path: "/v1/artifact/retention/explain", query: q, idempotent: true, out: &out}); err != nil {
		return nil, mapErr(err)
	}
	return &out, nil
}

// ParseRetentionDuration reads a retention duration as the API takes it: a
// whole number of days ("90d"), weeks ("2w") or a Go duration ("36h").
func ParseRetentionDuration(s string) (time.Duration, error) {
	d, err := registry.ParseDuration(s)
	return d, mapErr(err)
}
