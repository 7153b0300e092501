package server

import (
	"time"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/pkg/api"
)

// WireToken converts a token to the wire type.
func WireToken(t auth.Token, now time.Time) api.TokenInfo {
	out := api.TokenInfo{
		ID: t.ID, Name: t.Name, Scope: t.Scope.String(), Prefix: t.Prefix, ExpiresAt: app.TimePtr(t.ExpiresAt),
		CreatedAt: t.CreatedAt.UTC(), CreatedBy: t.CreatedBy, RevokedAt: app.TimePtr(t.RevokedAt), RevokedBy: t.RevokedBy, Status: "active",
	}
	switch {
	case !t.RevokedAt.IsZero():
		out.Status = "revoked"
	case !t.Active(now):
		out.Status = "expired"
	}
	return out
}
