package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/pkg/api"
)

// Principal is who a use case runs for: the actor its events record and
// what it may see. Local mode runs every use case as one principal with no
// prefix; the daemon builds one per request from the caller's token.
type Principal struct {
	// Actor is recorded on every event the use case appends.
	Actor string
	// Prefix limits the principal to artifact names starting with it; ""
	// means every name.
	Prefix string
	// Token names the credential in refusals ("token ID is limited to
	// ..."); "" for local mode.
	Token string
	// Client identifies the program in retrieval records (a user agent,
	// an address, "artstore (local)").
	Client string
}

// Allow checks that p may act on the artifact name. The refusal matches
// api.ErrForbidden.
func (p Principal) Allow(name string) error {
	if p.Prefix == "" || strings.HasPrefix(name, p.Prefix) {
		return nil
	}
	return Mark(fmt.Errorf("%s is limited to names under %q", p.who(), p.Prefix), api.ErrForbidden)
}

// who names p in refusals.
func (p Principal) who() string {
	if p.Token != "" {
		return "token " + p.Token
	}
	return "this principal"
}

// Options configure a Service.
type Options struct {
	// Log is the event log the registry runs over (garbage collection
	// reads and appends to it directly).
	Log eventlog.Store
	// Backend holds the blobs (garbage collection walks it).
	Backend storage.Backend
	// Tokens is the token table; nil builds one over Log.
	Tokens *auth.Book
	// Now is the clock of token expiry; nil means time.Now.
	Now func() time.Time
	// CheckpointKey is the path of the key checkpoints are signed with,
	// loaded at first use and created (mode 0600) if missing; empty: the
	// service has no key and refuses to sign (ErrNoKey).
	CheckpointKey string
}

// Service is the application layer: every use case of artstore, once.
// Local mode (pkg/client.Local) is the transfer pipeline plus a Service;
// the daemon's handlers are authentication, HTTP decoding and encoding
// plus a Service. Its methods take a Principal, speak the wire types of
// pkg/api, and return errors Classify knows. It is safe for concurrent
// use.
type Service struct {
	reg     *registry.Registry
	log     eventlog.Store
	backend storage.Backend
	tokens  *auth.Book
	now     func() time.Time
	keys    *keyring
	// closeLog closes the log Open opened.
	closeLog func() error
	// links is which blobs each OCI repository holds (ocilinks.go);
	// native caches the manifests native artifacts are served as.
	links  *ociIndex
	native nativeCache
	// marks are where PullURLs scans can resume (directpages.go).
	marks pageMarks
	// blobSets are the blobs of recently pulled artifacts, for
	// ArtifactBlob.
	blobSets blobSets

	// appended is closed and replaced whenever a use case appended
	// events (Changed).
	appendedMu sync.Mutex
	appended   chan struct{}
}

// New returns the Service over reg, whose log is opts.Log.
func New(reg *registry.Registry, opts Options) *Service {
	s := &Service{reg: reg, log: opts.Log, backend: opts.Backend, tokens: opts.Tokens, now: opts.Now,
		appended: make(chan struct{}), keys: &keyring{path: opts.CheckpointKey}}
	if s.now == nil {
		s.now = time.Now
	}
	if s.tokens == nil && s.log != nil {
		s.tokens = auth.NewBook(s.log, s.now, 0)
	}
	if s.log != nil {
		s.links = newOCIIndex(s.log)
	}
	return s
}

// Log returns the event log the service runs over.
func (s *Service) Log() eventlog.Store { return s.log }

// Changed returns a channel closed when this Service next appends events:
// a long-poll waits on it besides polling the log for appends made by
// other processes.
func (s *Service) Changed() <-chan struct{} {
	s.appendedMu.Lock()
	defer s.appendedMu.Unlock()
	return s.appended
}

// notify wakes everyone waiting on Changed.
func (s *Service) notify() {
	s.appendedMu.Lock()
	defer s.appendedMu.Unlock()
	close(s.appended)
	s.appended = make(chan struct{})
}

// Registry returns the registry the service runs over, for the transfer
// pipeline's lookups.
func (s *Service) Registry() *registry.Registry { return s.reg }

// Resolve returns the artifact ref names, if p may see it. A name-form
// reference is checked against p's prefix before the lookup, so p learns
// nothing about names outside it. An artifact ID also names a deleted
// artifact (Deleted is set).
func (s *Service) Resolve(ctx context.Context, p Principal, ref string) (eventlog.Artifact, error) {
	return s.resolve(ctx, p, ref, s.reg.Get)
}

// resolveAt is Resolve for a reading of the log as of its first size
// events (registry.Registry.GetAt): a version deleted after them still
// names its artifact, and a tag names the artifact it pointed at then.
func (s *Service) resolveAt(ctx context.Context, p Principal, ref string, size int64) (eventlog.Artifact, error) {
	return s.resolve(ctx, p, ref, func(ctx context.Context, ref string) (eventlog.Artifact, error) {
		return s.reg.GetAt(ctx, ref, size)
	})
}

func (s *Service) resolve(ctx context.Context, p Principal, ref string, get func(context.Context, string) (eventlog.Artifact, error)) (eventlog.Artifact, error) {
	if p.Prefix != "" {
		pr, err := registry.ParseRef(ref)
		if err != nil {
			return eventlog.Artifact{}, err
		}
		if pr.Name != "" {
			if err := p.Allow(pr.Name); err != nil {
				return eventlog.Artifact{}, err
			}
		}
	}
	a, err := get(ctx, ref)
	if err != nil {
		return a, err
	}
	return a, p.Allow(a.Name)
}

// Live is Resolve refusing a deleted artifact (which only an ID can name),
// because its bytes may already be collected.
func (s *Service) Live(ctx context.Context, p Principal, ref string) (eventlog.Artifact, error) {
	a, err := s.Resolve(ctx, p, ref)
	if err == nil && a.Deleted != nil {
		err = fmt.Errorf("%s (%s) was deleted: %w", ref, a.Ref(), registry.ErrNotFound)
	}
	return a, err
}

// view converts artifacts for one principal. For a principal limited to a
// name prefix, a provenance input that is an artifact outside the prefix
// keeps only its artifact ID and role: its reference and content digest
// are withheld, so the principal learns no digest of an artifact it may
// not read (an input it may read, or a raw digest input, is shown whole).
// Names found by ID are kept for the view's life, so a listing looks each
// input up once.
type view struct {
	s     *Service
	p     Principal
	names map[string]string
}

func (s *Service) view(p Principal) *view { return &view{s: s, p: p} }

func (v *view) wire(ctx context.Context, a eventlog.Artifact) (api.Artifact, error) {
	out := Artifact(a)
	if v.p.Prefix == "" {
		return out, nil
	}
	for i, in := range a.Provenance.Inputs {
		if in.ArtifactID == "" {
			continue
		}
		name, err := v.inputName(ctx, in)
		if err != nil {
			return out, fmt.Errorf("%s: %w", a.Ref(), err)
		}
		if v.p.Allow(name) != nil {
			out.Provenance.Inputs[i].Ref, out.Provenance.Inputs[i].Digest = "", ""
		}
	}
	return out, nil
}

// inputName returns the name of the artifact a provenance input resolved
// to: from its reference when it has the name form, else by its ID (""
// if the ID names nothing, which no prefix allows).
func (v *view) inputName(ctx context.Context, in eventlog.Input) (string, error) {
	if pr, err := registry.ParseRef(in.Ref); err == nil && pr.Name != "" {
		return pr.Name, nil
	}
	if name, ok := v.names[in.ArtifactID]; ok {
		return name, nil
	}
	a, err := v.s.reg.Get(ctx, in.ArtifactID)
	switch {
	case errors.Is(err, registry.ErrNotFound):
	case err != nil:
		return "", fmt.Errorf("provenance input %s: %w", in.ArtifactID, err)
	}
	if v.names == nil {
		v.names = map[string]string{}
	}
	v.names[in.ArtifactID] = a.Name
	return a.Name, nil
}

// Wire converts a, which p resolved, to its wire form as p may see it.
func (s *Service) Wire(ctx context.Context, p Principal, a eventlog.Artifact) (api.Artifact, error) {
	return s.view(p).wire(ctx, a)
}

// changed finishes a use case that appended: it signals the append and
// converts the artifact for p.
func (s *Service) changed(ctx context.Context, p Principal, a eventlog.Artifact, err error) (api.Artifact, error) {
	if err != nil {
		return api.Artifact{}, err
	}
	s.notify()
	return s.view(p).wire(ctx, a)
}
