package app

import (
	"context"
	"fmt"
	"time"

	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/pkg/api"
)

// WireToken converts a token to the wire type.
func WireToken(t auth.Token, now time.Time) api.TokenInfo {
	out := api.TokenInfo{
		ID: t.ID, Name: t.Name, Scope: t.Scope.String(), Prefix: t.Prefix, ExpiresAt: TimePtr(t.ExpiresAt),
		CreatedAt: t.CreatedAt.UTC(), CreatedBy: t.CreatedBy, RevokedAt: TimePtr(t.RevokedAt), RevokedBy: t.RevokedBy, Status: "active",
	}
	switch {
	case !t.RevokedAt.IsZero():
		out.Status = "revoked"
	case !t.Active(now):
		out.Status = "expired"
	}
	return out
}

// TokenSpec converts a token request (from the API or the CLI) to a spec.
func TokenSpec(req api.TokenRequest) (auth.Spec, error) {
	scope, err := auth.ParseScope(req.Scope)
	if err != nil {
		return auth.Spec{}, err
	}
	spec := auth.Spec{Name: req.Name, Scope: scope, Prefix: req.Prefix}
	if req.Expires != "" {
		d, err := time.ParseDuration(req.Expires)
		if err != nil || d <= 0 {
			return spec, fmt.Errorf("%w: expires: %q is not a positive duration (e.g. 720h)", auth.ErrInvalid, req.Expires)
		}
		spec.TTL = d
	}
	return spec, nil
}

// Tokens returns the token table (authentication, the bootstrap token).
func (s *Service) Tokens() *auth.Book { return s.tokens }

// CreateToken creates an API token; the answer is the only time its
// secret is shown.
func (s *Service) CreateToken(ctx context.Context, p Principal, req api.TokenRequest) (api.TokenCreated, error) {
	spec, err := TokenSpec(req)
	if err != nil {
		return api.TokenCreated{}, err
	}
	secret, t, err := s.tokens.Create(ctx, p.Actor, spec)
	if err != nil {
		return api.TokenCreated{}, err
	}
	s.notify()
	return api.TokenCreated{TokenInfo: WireToken(t, s.now()), Token: secret}, nil
}

// ListTokens lists every token, never a secret.
func (s *Service) ListTokens(ctx context.Context) ([]api.TokenInfo, error) {
	ts, err := s.tokens.List(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]api.TokenInfo, 0, len(ts))
	for _, t := range ts {
		out = append(out, WireToken(t, now))
	}
	return out, nil
}

// RevokeToken revokes the token id.
func (s *Service) RevokeToken(ctx context.Context, p Principal, id string) (api.TokenInfo, error) {
	t, err := s.tokens.Revoke(ctx, p.Actor, id)
	if err != nil {
		return api.TokenInfo{}, err
	}
	s.notify()
	return WireToken(t, s.now()), nil
}
