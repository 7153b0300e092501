package eventlog

import (
	"fmt"
	"time"

	"github.com/artifact-store/artstore/internal/textfmt"
)

// Token event types. Tokens live in the log like everything else, so every
// daemon sharing a log sees the same tokens and their history is
// tamper-evident. Token events change no view table: the daemon folds them
// into its own in-memory token table (internal/server).
const (
	TypeTokenCreated = "token.created.v1"
	TypeTokenRevoked = "token.revoked.v1"
)

// TokenCreated records a new API token. The secret itself is never logged:
// SecretHash is the lowercase hex SHA-256 of the secret, which cannot be
// turned back into a 256-bit random secret. The event's subject is
// "token:" + ID.
type TokenCreated struct {
	ID string `json:"id"`
	// Name is the token's subject: the actor of every event it causes.
	Name  string `json:"name"`
	Scope string `json:"scope"` // "read", "write" or "admin"
	// Prefix, if set, limits the artifact names the token may touch.
	Prefix     string    `json:"prefix,omitempty"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	SecretHash string    `json:"secret_hash"`
}

// EventType implements Payload.
func (TokenCreated) EventType() string { return TypeTokenCreated }

func (p *TokenCreated) validate() error {
	switch {
	case p.ID == "" || p.Name == "":
		return fmt.Errorf("id and name are required")
	case p.Scope != "read" && p.Scope != "write" && p.Scope != "admin":
		return fmt.Errorf("scope %q is not read, write or admin", textfmt.Clip(p.Scope, 80))
	case len(p.SecretHash) != 64:
		return fmt.Errorf("secret_hash must be 64 hex characters")
	}
	return nil
}

// TokenRevoked revokes a token: requests bearing it are refused from then on.
type TokenRevoked struct {
	ID string `json:"id"`
}

// EventType implements Payload.
func (TokenRevoked) EventType() string { return TypeTokenRevoked }

func (p *TokenRevoked) validate() error {
	if p.ID == "" {
		return fmt.Errorf("id is required")
	}
	return nil
}
