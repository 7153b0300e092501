// Package auth holds the daemon's API tokens: their secrets, scopes and name
// prefixes, and the token table every daemon folds from the event log.
//
// A token is "art_<id>_<secret>": id is 16 lowercase base32 characters (80
// random bits) naming the token, secret 43 base64url characters (256 random
// bits). Only the SHA-256 of the whole token string is stored, in a
// token.created.v1 event; a presented token is looked up by its id and its
// hash compared in constant time. Tokens live in the log so that every
// daemon sharing it sees the same tokens, and their history is as
// tamper-evident as everything else.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/artifact-store/artstore/internal/eventlog"
)

// Errors callers branch on; use errors.Is.
var (
	// ErrUnauthenticated: no token, a malformed or unknown token, or a
	// revoked or expired one.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrForbidden: the token's scope or name prefix does not allow the
	// request.
	ErrForbidden = errors.New("forbidden")
	// ErrInvalid: a malformed scope, prefix, name or token string.
	ErrInvalid = errors.New("invalid token request")
	// ErrNotFound: no token has the ID.
	ErrNotFound = errors.New("token not found")
)

// Scope is what a token may do. Scopes are ordered: each includes the ones
// below it.
type Scope int

// Scopes, weakest first.
const (
	// ScopeRead: get, list, pull, lineage, events, log verification.
	ScopeRead Scope = iota + 1
	// ScopeWrite: also push, tag, label, retention, holds, delete.
	ScopeWrite
	// ScopeAdmin: also tokens and rebuild.
	ScopeAdmin
)

// ParseScope parses "read", "write" or "admin".
func ParseScope(s string) (Scope, error) {
	switch s {
	case "read":
		return ScopeRead, nil
	case "write":
		return ScopeWrite, nil
	case "admin":
		return ScopeAdmin, nil
	}
	return 0, fmt.Errorf("%w: scope %q is not read, write or admin", ErrInvalid, s)
}

// String returns the scope's name.
func (s Scope) String() string {
	switch s {
	case ScopeRead:
		return "read"
	case ScopeWrite:
		return "write"
	case ScopeAdmin:
		return "admin"
	}
	return fmt.Sprintf("scope(%d)", int(s))
}

// Token is a token as the table holds it (never its secret).
type Token struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Scope  Scope  `json:"-"`
	Prefix string `json:"prefix,omitempty"`
	// ExpiresAt is zero for a token that does not expire.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	// RevokedAt is zero for a token not revoked.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	RevokedBy string    `json:"revoked_by,omitempty"`

	hash [sha256.Size]byte
}

// Subject is the actor recorded for everything the token does: its name.
func (t Token) Subject() string { return t.Name }

// Active reports whether the token may be used at now.
func (t Token) Active(now time.Time) bool {
	return t.RevokedAt.IsZero() && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))
}

// Allows reports whether the token may act at scope s on the artifact name
// (name "" for requests not about one name).
func (t Token) Allows(s Scope, name string) bool {
	return t.Scope >= s && (t.Prefix == "" || strings.HasPrefix(name, t.Prefix))
}

// Spec describes a token to create.
type Spec struct {
	// Name is the token's subject; empty means "token-<id>".
	Name   string
	Scope  Scope
	Prefix string
	// TTL is the lifetime; zero means the token does not expire.
	TTL time.Duration
	// Secret, if set, is used instead of a fresh random one (the bootstrap
	// token from the environment); it must be a well-formed token.
	Secret string
}

const secretPrefix = "art_"

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Generate returns a fresh random token string and its ID.
func Generate() (secret, id string, err error) {
	var b [10 + 32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("generate token: %w", err)
	}
	id = strings.ToLower(idEncoding.EncodeToString(b[:10]))
	return secretPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(b[10:]), id, nil
}

// ParseSecret returns the ID of a token string, checking its form.
func ParseSecret(s string) (id string, err error) {
	rest, ok := strings.CutPrefix(s, secretPrefix)
	if !ok || len(rest) != 16+1+43 || rest[16] != '_' {
		return "", fmt.Errorf("%w: not an artstore token (want art_<16 characters>_<43 characters>)", ErrInvalid)
	}
	id = rest[:16]
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return "", fmt.Errorf("%w: malformed token id", ErrInvalid)
		}
	}
	if _, err := base64.RawURLEncoding.DecodeString(rest[17:]); err != nil {
		return "", fmt.Errorf("%w: malformed token secret", ErrInvalid)
	}
	return id, nil
}

// HashSecret returns the lowercase hex SHA-256 of a token string, as stored.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Book is the token table of one daemon, folded from the token events of
// the log. It refreshes itself from the log at most every refreshEvery on
// use, and when it meets an unknown token ID (at most every 100 ms), so a
// token created through another daemon works at once and a revocation
// through another daemon takes effect within refreshEvery (at once on the
// daemon that revoked it). It is safe for concurrent use.
type Book struct {
	log          eventlog.Store
	now          func() time.Time
	refreshEvery time.Duration

	refreshMu sync.Mutex // serialises refreshes
	mu        sync.RWMutex
	tokens    map[string]*Token
	seq       int64     // last event folded
	refreshed time.Time // monotonic time of the last refresh
}

// DefaultRefresh is how often a Book re-reads the log on use.
const DefaultRefresh = time.Second

// NewBook returns a token table over log. now is the clock used for expiry
// (nil: time.Now); refreshEvery <= 0 means DefaultRefresh.
func NewBook(log eventlog.Store, now func() time.Time, refreshEvery time.Duration) *Book {
	if now == nil {
		now = time.Now
	}
	if refreshEvery <= 0 {
		refreshEvery = DefaultRefresh
	}
	return &Book{log: log, now: now, refreshEvery: refreshEvery, tokens: map[string]*Token{}}
}

// minRefresh spaces the refreshes an unknown token ID triggers, so a flood
// of made-up tokens cannot turn every request into a log read.
const minRefresh = 100 * time.Millisecond

// Refresh folds the token events appended since the last refresh.
func (b *Book) Refresh(ctx context.Context) error { return b.refresh(ctx, 0) }

// refresh is Refresh unless another refresh finished less than maxAge ago
// (while the caller waited for it, for example).
func (b *Book) refresh(ctx context.Context, maxAge time.Duration) error {
	b.refreshMu.Lock()
	defer b.refreshMu.Unlock()
	b.mu.RLock()
	after, lastRefresh := b.seq, b.refreshed
	b.mu.RUnlock()
	if maxAge > 0 && !lastRefresh.IsZero() && time.Since(lastRefresh) < maxAge {
		return nil
	}
	var evs []eventlog.Event
	last := after
	err := b.log.Read(ctx, after, func(ev eventlog.Event) error {
		last = ev.Seq
		if ev.Type == eventlog.TypeTokenCreated || ev.Type == eventlog.TypeTokenRevoked {
			evs = append(evs, ev)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read tokens from the event log: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ev := range evs {
		if err := b.fold(ev); err != nil {
			return err
		}
	}
	b.seq = last
	b.refreshed = time.Now()
	return nil
}

func (b *Book) fold(ev eventlog.Event) error {
	p, err := eventlog.DefaultTypes().Decode(ev.Type, ev.Payload)
	if err != nil {
		return fmt.Errorf("event %d: %w", ev.Seq, err)
	}
	switch p := p.(type) {
	case *eventlog.TokenCreated:
		t := &Token{ID: p.ID, Name: p.Name, Prefix: p.Prefix, ExpiresAt: p.ExpiresAt, CreatedAt: ev.Time, CreatedBy: ev.Actor}
		t.Scope, err = ParseScope(p.Scope)
		if err != nil {
			return fmt.Errorf("event %d: %w", ev.Seq, err)
		}
		h, err := hex.DecodeString(p.SecretHash)
		if err != nil || len(h) != sha256.Size {
			return fmt.Errorf("event %d: malformed secret hash", ev.Seq)
		}
		copy(t.hash[:], h)
		if _, dup := b.tokens[t.ID]; !dup { // the first creation wins
			b.tokens[t.ID] = t
		}
	case *eventlog.TokenRevoked:
		if t, ok := b.tokens[p.ID]; ok && t.RevokedAt.IsZero() {
			t.RevokedAt, t.RevokedBy = ev.Time, ev.Actor
		}
	}
	return nil
}

func (b *Book) lookup(id string) (*Token, bool, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	t, ok := b.tokens[id]
	return t, ok, time.Since(b.refreshed) > b.refreshEvery
}

// Authenticate returns the active token a presented token string names.
// Every failure matches ErrUnauthenticated, with a reason a user can act on
// (malformed, unknown, revoked, expired) and never any part of the secret.
func (b *Book) Authenticate(ctx context.Context, secret string) (Token, error) {
	id, err := ParseSecret(secret)
	if err != nil {
		return Token{}, fmt.Errorf("%w: this is not an artstore token (art_<16 characters>_<43 characters>)", ErrUnauthenticated)
	}
	t, ok, stale := b.lookup(id)
	if !ok || stale {
		maxAge := b.refreshEvery
		if !ok {
			maxAge = minRefresh
		}
		if err := b.refresh(ctx, maxAge); err != nil {
			return Token{}, err
		}
		t, ok, _ = b.lookup(id)
	}
	if !ok {
		return Token{}, fmt.Errorf("%w: unknown token %s", ErrUnauthenticated, id)
	}
	h := sha256.Sum256([]byte(secret))
	b.mu.RLock()
	tok := *t
	b.mu.RUnlock()
	if subtle.ConstantTimeCompare(h[:], tok.hash[:]) != 1 {
		return Token{}, fmt.Errorf("%w: wrong secret for token %s", ErrUnauthenticated, id)
	}
	now := b.now()
	switch {
	case !tok.RevokedAt.IsZero():
		return Token{}, fmt.Errorf("%w: token %s was revoked", ErrUnauthenticated, id)
	case !tok.Active(now):
		return Token{}, fmt.Errorf("%w: token %s expired at %s", ErrUnauthenticated, id, tok.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return tok, nil
}

// List returns every token (revoked and expired ones too), oldest first,
// after a refresh.
func (b *Book) List(ctx context.Context) ([]Token, error) {
	if err := b.Refresh(ctx); err != nil {
		return nil, err
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]Token, 0, len(b.tokens))
	for _, t := range b.tokens {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b Token) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Get returns the token with the ID.
func (b *Book) Get(ctx context.Context, id string) (Token, error) {
	t, ok, _ := b.lookup(id)
	if !ok {
		if err := b.Refresh(ctx); err != nil {
			return Token{}, err
		}
		if t, ok, _ = b.lookup(id); !ok {
			return Token{}, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	return *t, nil
}

// ValidatePrefix checks a name prefix: the characters of artifact names
// (lower-case letters, digits, '.', '_', '-', '/').
func ValidatePrefix(p string) error {
	for _, c := range p {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("._-/", c)) {
			return fmt.Errorf("%w: prefix %q may only hold the characters of artifact names (a-z 0-9 . _ - /)", ErrInvalid, p)
		}
	}
	if len(p) > 200 {
		return fmt.Errorf("%w: prefix is longer than 200 bytes", ErrInvalid)
	}
	return nil
}

// Create appends a token.created event for spec, by actor, and returns the
// token string (to show once) and the token.
func (b *Book) Create(ctx context.Context, actor string, spec Spec) (string, Token, error) {
	if spec.Scope < ScopeRead || spec.Scope > ScopeAdmin {
		return "", Token{}, fmt.Errorf("%w: scope is required", ErrInvalid)
	}
	if err := ValidatePrefix(spec.Prefix); err != nil {
		return "", Token{}, err
	}
	if spec.TTL < 0 {
		return "", Token{}, fmt.Errorf("%w: expiry must not be negative", ErrInvalid)
	}
	secret, id := spec.Secret, ""
	var err error
	if secret == "" {
		if secret, id, err = Generate(); err != nil {
			return "", Token{}, err
		}
	} else if id, err = ParseSecret(secret); err != nil {
		return "", Token{}, err
	}
	name := spec.Name
	if name == "" {
		name = "token-" + id
	}
	if len(name) > 128 || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", Token{}, fmt.Errorf("%w: name must be printable and at most 128 bytes", ErrInvalid)
	}
	p := &eventlog.TokenCreated{ID: id, Name: name, Scope: spec.Scope.String(), Prefix: spec.Prefix, SecretHash: HashSecret(secret)}
	if spec.TTL > 0 {
		p.ExpiresAt = b.now().Add(spec.TTL).UTC()
	}
	ne, err := eventlog.New(actor, "token:"+id, p)
	if err != nil {
		return "", Token{}, err
	}
	if _, err := b.log.Append(ctx, []eventlog.NewEvent{ne}); err != nil {
		return "", Token{}, fmt.Errorf("record token: %w", err)
	}
	t, err := b.Get(ctx, id)
	if err != nil {
		return "", Token{}, err
	}
	if t.hash != sha256.Sum256([]byte(secret)) {
		return "", Token{}, fmt.Errorf("%w: token id %s is already taken", ErrInvalid, id)
	}
	return secret, t, nil
}

// Revoke appends a token.revoked event for the token ID, by actor.
// Revoking a revoked token changes nothing.
func (b *Book) Revoke(ctx context.Context, actor, id string) (Token, error) {
	t, err := b.Get(ctx, id)
	if err != nil {
		return Token{}, err
	}
	if !t.RevokedAt.IsZero() {
		return t, nil
	}
	ne, err := eventlog.New(actor, "token:"+id, &eventlog.TokenRevoked{ID: id})
	if err != nil {
		return Token{}, err
	}
	if _, err := b.log.Append(ctx, []eventlog.NewEvent{ne}); err != nil {
		return Token{}, fmt.Errorf("record revocation: %w", err)
	}
	if err := b.Refresh(ctx); err != nil {
		return Token{}, err
	}
	return b.Get(ctx, id)
}

// BootstrapFile is the name of the file, in the daemon's data directory,
// that receives a generated bootstrap token.
const BootstrapFile = "bootstrap-token"

// Bootstrap makes sure the log has a token: if no token was ever created,
// it creates an admin token named "bootstrap" from secret (the value of
// ARTSTORE_BOOTSTRAP_TOKEN) or, when secret is empty, a generated one that
// it writes to dir/bootstrap-token with mode 0600. It returns the path
// written ("" when none) and whether a token was created. Two daemons
// bootstrapping one empty log at the same instant may both create one.
func (b *Book) Bootstrap(ctx context.Context, dir, secret string) (path string, created bool, err error) {
	all, err := b.List(ctx)
	if err != nil {
		return "", false, err
	}
	if len(all) > 0 {
		return "", false, nil
	}
	generated := secret == ""
	if generated {
		if secret, _, err = Generate(); err != nil {
			return "", false, err
		}
		path = filepath.Join(dir, BootstrapFile)
		if err := writeSecretFile(path, secret); err != nil {
			return "", false, err
		}
	}
	if _, _, err := b.Create(ctx, "bootstrap", Spec{Name: "bootstrap", Scope: ScopeAdmin, Secret: secret}); err != nil {
		if generated {
			_ = os.Remove(path)
		}
		return "", false, fmt.Errorf("bootstrap token: %w", err)
	}
	return path, true, nil
}

// writeSecretFile writes secret to path atomically with mode 0600.
func writeSecretFile(path, secret string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("bootstrap token: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".bootstrap-token-*")
	if err != nil {
		return fmt.Errorf("bootstrap token: %w", err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err == nil {
		_, err = f.WriteString(secret + "\n")
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(f.Name(), path)
		}
		if err != nil {
			return fmt.Errorf("bootstrap token: write %s: %w", path, err)
		}
		return nil
	}
	f.Close()
	return fmt.Errorf("bootstrap token: chmod %s: %w", f.Name(), err)
}
