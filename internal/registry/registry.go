// Package registry is artstore's service layer, shared by local mode and the
// daemon: commands (register, tag, label, retention, holds, delete,
// retrieval records) validate against the views and append events; queries
// read the views.
//
// Every command validates inside the log's serialised append transaction
// (eventlog.Store.AppendFunc), so a check such as "this version is free"
// still holds when the event is appended, across goroutines, processes and
// daemons sharing one log.
//
// # References
//
// A reference is an artifact ID (upper-case ULID), name:version, name:tag,
// name@sha256:<hex> or a bare name (= name:latest). In name:X, X is looked
// up as a version first and then as a tag; tags may not be all digits and
// may not equal an existing version of the name (and a new version may not
// equal an existing tag), so the lookup is never ambiguous. References by
// name never resolve to a deleted artifact; an ID does (Get shows the
// tombstone) but commands refuse to change a deleted artifact.
package registry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oklog/ulid/v2"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/textfmt"
)

// Errors callers branch on; use errors.Is.
var (
	// ErrNotFound: no live artifact (tag, hold) matches the reference.
	ErrNotFound = eventlog.ErrNotFound
	// ErrConflict: the request collides with existing state (the version
	// exists, the tag name is a version, the hold is already placed).
	ErrConflict = eventlog.ErrConflict
	// ErrInvalid: the request is malformed (bad name, reference, label).
	ErrInvalid = errors.New("invalid request")
	// ErrForbiddenByRetention: a legal hold or immutable-until forbids the
	// change (deletion, shortening immutability).
	ErrForbiddenByRetention = errors.New("forbidden by retention")
	// ErrMissingBlobs: Register named a manifest or chunk the blob store
	// does not hold (upload it, then register again). The error is a
	// *MissingBlobsError listing them.
	ErrMissingBlobs = errors.New("blobs missing from the blob store")
)

// Limits on a registration, so one event stays small.
const (
	maxLabels        = 256
	maxInputs        = 1024
	maxTags          = 64
	maxProducerField = 4096
)

// MissingBlobsError lists the blobs Register found missing.
type MissingBlobsError struct {
	// Digests lists the first missing blobs found (at most 100).
	Digests []content.Digest
	// Count is how many were found missing, at least len(Digests); a blob
	// referenced twice may count twice.
	Count int
}

func (e *MissingBlobsError) Error() string {
	n := max(e.Count, len(e.Digests))
	if len(e.Digests) == 0 {
		return fmt.Sprintf("%v: %d missing", ErrMissingBlobs, n)
	}
	return fmt.Sprintf("%v: %d missing, first %s", ErrMissingBlobs, n, e.Digests[0])
}

// Unwrap makes a *MissingBlobsError match ErrMissingBlobs.
func (e *MissingBlobsError) Unwrap() error { return ErrMissingBlobs }

// Registry is the service. It is safe for concurrent use.
type Registry struct {
	log   eventlog.Store
	blobs BlobChecker
	now   func() time.Time
	// types decodes registration events for checkRegistration.
	types eventlog.Types
	// rules caches the retention rules folded from the log (retention.go).
	rules ruleCache
	// protected are the patterns of tags that are never moved.
	protected []string
}

// ProtectTags makes tags matching any of patterns (path.Match syntax, e.g.
// "v*", "release-*") immovable: once set, Tag refuses to point them at
// another version and Untag to remove them (ErrConflict). Call it before
// the registry is used; local mode and the daemon pass their configured
// tags.protected.
func (r *Registry) ProtectTags(patterns []string) error {
	for _, p := range patterns {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("%w: protected tag pattern %q: %v", ErrInvalid, p, err)
		}
	}
	r.protected = slices.Clone(patterns)
	return nil
}

// protectedBy returns the pattern that protects tag, or "".
func (r *Registry) protectedBy(tag string) string {
	for _, p := range r.protected {
		if ok, _ := path.Match(p, tag); ok {
			return p
		}
	}
	return ""
}

// New returns a registry over log, checking blobs with blobs (required by
// Register only); clock is the time source for events (nil means
// time.Now).
func New(log eventlog.Store, blobs BlobChecker, clock func() time.Time) *Registry {
	if clock == nil {
		clock = time.Now
	}
	return &Registry{log: log, blobs: blobs, now: clock, types: eventlog.DefaultTypes()}
}

// Artifact is an artifact as the registry returns it.
type Artifact = eventlog.Artifact

// Input is one provenance input of a RegisterRequest: an artifact reference
// (resolved at registration, recorded with its ID and content digest) or,
// with Ref empty, raw content named by Digest.
type Input struct {
	Ref    string         `json:"ref,omitempty"`
	Digest content.Digest `json:"digest,omitzero"`
	Role   string         `json:"role,omitempty"`
}

// RegisterRequest describes a new artifact version whose blobs are uploaded.
type RegisterRequest struct {
	Name string `json:"name"`
	// Version is optional: empty assigns the next number (1 + the largest
	// numeric version the name ever had).
	Version       string         `json:"version,omitempty"`
	ContentDigest content.Digest `json:"content_digest"`
	Size          int64          `json:"size"`
	// ManifestDigest names the manifest blob. Register reads it: it must
	// describe ContentDigest and Size, and it and every blob it references
	// must be in the blob store.
	ManifestDigest content.Digest    `json:"manifest_digest"`
	MediaType      string            `json:"media_type,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"`
	Producer       eventlog.Producer `json:"producer,omitzero"`
	Inputs         []Input           `json:"inputs,omitempty"`
	// Tags to point at the new version, in addition to "latest" unless
	// NoLatest.
	Tags     []string `json:"tags,omitempty"`
	NoLatest bool     `json:"no_latest,omitempty"`
	// AllowInput, if set, is asked whether the caller may name the artifact
	// name as an input; its error refuses the registration. A name-form
	// input reference is checked before it is looked up, so a refused
	// caller cannot tell an existing name from a missing one; an ID-form
	// one is checked against the name it resolves to. The daemon sets it
	// to a token's name prefix check.
	AllowInput func(name string) error `json:"-"`
	// Keep lists more stored content the artifact keeps besides its own
	// manifest (an OCI manifest's own bytes, config and layers): each is
	// checked like the artifact's manifest inside the append transaction,
	// so garbage collection (whose Keep option names the same blobs) either
	// sees the registration or the registration sees its deletions.
	Keep []KeptBlob `json:"-"`
	// Reserved allows labels under ReservedLabelPrefix, which only the
	// OCI use cases set (internal/app).
	Reserved bool `json:"-"`
	// Imported, when set, is appended right after the registration, in
	// the same transaction, with its ArtifactID set to the new artifact's:
	// the artifact came from another store's evidence bundle, whose
	// evidence it keeps.
	Imported *eventlog.ArtifactImported `json:"-"`
}

// KeptBlob is stored content an artifact keeps: a file manifest and the
// digest and size of the content it describes.
type KeptBlob struct {
	Manifest content.Digest
	Content  content.Digest
	Size     int64
}

// ReservedLabelPrefix starts the labels the OCI mapping sets (docs/oci.md):
// registrations without RegisterRequest.Reserved and Label refuse them, so
// what /v2 serves and what garbage collection keeps cannot be changed by
// relabelling.
const ReservedLabelPrefix = "oci."

func checkReserved(keys []string) error {
	for _, k := range keys {
		if strings.HasPrefix(k, ReservedLabelPrefix) {
			return fmt.Errorf("%w: label %q: labels under %q are set by the OCI API (/v2) only", ErrInvalid, k, ReservedLabelPrefix)
		}
	}
	return nil
}

// Register records a new artifact version and returns it.
func (r *Registry) Register(ctx context.Context, actor string, req RegisterRequest) (Artifact, error) {
	tags, err := r.checkRegister(req)
	if err != nil {
		return Artifact{}, err
	}
	if err := req.allowInputNames(); err != nil {
		return Artifact{}, fmt.Errorf("register %s: %w", req.Name, err)
	}
	if r.blobs == nil {
		return Artifact{}, fmt.Errorf("register %s: the registry has no blob checker", req.Name)
	}
	now := r.now()
	id := ulid.MustNew(ulid.Timestamp(now), ulid.DefaultEntropy()).String()
	var ref string
	_, err = r.log.AppendFunc(ctx, func(ctx context.Context, v eventlog.Views) ([]eventlog.NewEvent, error) {
		// The blobs are checked inside the append transaction: garbage
		// collection deletes inside it too (internal/gc), so either it
		// saw this registration or this check sees its deletions.
		if err := r.checkBlobs(ctx, req.ManifestDigest, req.ContentDigest, req.Size); err != nil {
			return nil, err
		}
		for _, k := range req.Keep {
			if err := r.checkBlobs(ctx, k.Manifest, k.Content, k.Size); err != nil {
				return nil, err
			}
		}
		version := req.Version
		if version == "" {
			n, err := v.MaxVersionNumber(ctx, req.Name)
			if err != nil {
				return nil, err
			}
			version = strconv.FormatInt(n+1, 10)
		} else if _, err := v.Tag(ctx, req.Name, version); err == nil {
			return nil, fmt.Errorf("%w: %s:%s is a tag; choose another version", ErrConflict, req.Name, version)
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if a, err := v.ArtifactByVersion(ctx, req.Name, version); err == nil {
			state := "exists"
			if a.Deleted != nil {
				state = "was registered and deleted; versions are never reused"
			}
			return nil, fmt.Errorf("%w: %s:%s %s", ErrConflict, req.Name, version, state)
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		for _, tag := range tags {
			if _, err := v.ArtifactByVersion(ctx, req.Name, tag); err == nil {
				return nil, fmt.Errorf("%w: tag %q is a version of %s", ErrConflict, tag, req.Name)
			} else if !errors.Is(err, ErrNotFound) {
				return nil, err
			}
		}
		p := &eventlog.ArtifactRegistered{
			ID: id, Name: req.Name, Version: version, ContentDigest: req.ContentDigest, Size: req.Size,
			ManifestDigest: req.ManifestDigest, MediaType: req.MediaType, Labels: req.Labels, Tags: tags,
			Provenance: eventlog.Provenance{Producer: req.Producer},
		}
		for i, in := range req.Inputs {
			pin := eventlog.Input{Ref: in.Ref, Digest: in.Digest, Role: in.Role}
			if in.Ref != "" {
				a, err := resolve(ctx, v, in.Ref, false)
				if err != nil {
					return nil, fmt.Errorf("input %d: %w", i+1, err)
				}
				if req.AllowInput != nil {
					if err := req.AllowInput(a.Name); err != nil {
						return nil, fmt.Errorf("input %d: %w", i+1, err)
					}
				}
				if !in.Digest.IsZero() && in.Digest != a.ContentDigest {
					return nil, fmt.Errorf("%w: input %d: %s has content %s, not %s", ErrConflict, i+1, in.Ref, a.ContentDigest, in.Digest)
				}
				pin.ArtifactID, pin.Digest = a.ID, a.ContentDigest
			}
			p.Provenance.Inputs = append(p.Provenance.Inputs, pin)
		}
		ref = req.Name + ":" + version
		if req.Imported != nil {
			imp := *req.Imported
			imp.ArtifactID = id
			return r.events(actor, now, id, p, &imp)
		}
		return r.events(actor, now, id, p)
	})
	if err != nil {
		return Artifact{}, fmt.Errorf("register %s: %w", req.Name, err)
	}
	return r.artifactAfter(ctx, id, ref)
}

// allowInputNames asks AllowInput about every name-form input reference,
// before anything is looked up.
func (req RegisterRequest) allowInputNames() error {
	if req.AllowInput == nil {
		return nil
	}
	for i, in := range req.Inputs {
		if in.Ref == "" {
			continue
		}
		pr, err := ParseRef(in.Ref)
		if err != nil {
			return fmt.Errorf("input %d: %w", i+1, err)
		}
		if pr.Name != "" {
			if err := req.AllowInput(pr.Name); err != nil {
				return fmt.Errorf("input %d: %w", i+1, err)
			}
		}
	}
	return nil
}

func (r *Registry) checkRegister(req RegisterRequest) ([]string, error) {
	if err := ValidateName(req.Name); err != nil {
		return nil, err
	}
	if req.Version != "" {
		if err := ValidateVersion(req.Version); err != nil {
			return nil, err
		}
	}
	switch {
	case req.ContentDigest.IsZero() || req.ManifestDigest.IsZero():
		return nil, fmt.Errorf("%w: content and manifest digests are required", ErrInvalid)
	case req.Size < 0:
		return nil, fmt.Errorf("%w: negative size %d", ErrInvalid, req.Size)
	case !textfmt.Printable(req.MediaType, 255):
		return nil, fmt.Errorf("%w: media type %q must be printable and at most 255 bytes", ErrInvalid, textfmt.Clip(req.MediaType, 80))
	}
	switch {
	case len(req.Labels) > maxLabels:
		return nil, fmt.Errorf("%w: %d labels; at most %d", ErrInvalid, len(req.Labels), maxLabels)
	case len(req.Inputs) > maxInputs:
		return nil, fmt.Errorf("%w: %d inputs; at most %d", ErrInvalid, len(req.Inputs), maxInputs)
	case len(req.Tags) > maxTags:
		return nil, fmt.Errorf("%w: %d tags; at most %d", ErrInvalid, len(req.Tags), maxTags)
	}
	pr := req.Producer
	for _, f := range []struct{ name, v string }{{"tool", pr.Tool}, {"command", pr.Command}, {"host", pr.Host}, {"user", pr.User},
		{"git_repo", pr.GitRepo}, {"git_commit", pr.GitCommit}, {"git_branch", pr.GitBranch}, {"ci_system", pr.CISystem}, {"ci_job", pr.CIJob}, {"ci_run", pr.CIRun}, {"ci_url", pr.CIURL}} {
		if !utf8.ValidString(f.v) || len(f.v) > maxProducerField {
			return nil, fmt.Errorf("%w: producer %s must be UTF-8 of at most %d bytes", ErrInvalid, f.name, maxProducerField)
		}
	}
	for _, k := range sortedKeys(req.Labels) {
		if err := ValidateLabel(k, req.Labels[k]); err != nil {
			return nil, err
		}
	}
	if !req.Reserved {
		if err := checkReserved(sortedKeys(req.Labels)); err != nil {
			return nil, err
		}
	}
	for i, in := range req.Inputs {
		if in.Ref == "" && in.Digest.IsZero() {
			return nil, fmt.Errorf("%w: input %d needs a reference or a digest", ErrInvalid, i+1)
		}
		if in.Ref != "" {
			if _, err := ParseRef(in.Ref); err != nil {
				return nil, fmt.Errorf("input %d: %w", i+1, err)
			}
		}
		if !textfmt.Printable(in.Role, 64) {
			return nil, fmt.Errorf("%w: input %d role %q must be printable and at most 64 bytes", ErrInvalid, i+1, textfmt.Clip(in.Role, 80))
		}
	}
	var tags []string
	if !req.NoLatest {
		tags = append(tags, DefaultTag)
	}
	for _, t := range req.Tags {
		if err := ValidateTag(t); err != nil {
			return nil, err
		}
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	return tags, nil
}

// events builds NewEvents at time now.
func (r *Registry) events(actor string, now time.Time, subject string, ps ...eventlog.Payload) ([]eventlog.NewEvent, error) {
	if actor == "" {
		return nil, fmt.Errorf("%w: empty actor", ErrInvalid)
	}
	out := make([]eventlog.NewEvent, len(ps))
	for i, p := range ps {
		ne, err := eventlog.New(actor, subject, p)
		if err != nil {
			return nil, err
		}
		ne.Time = now
		out[i] = ne
	}
	return out, nil
}

// artifactAfter reads the artifact a command changed. It reads by ID, so it
// sees the command's own events even if later ones moved its tags.
func (r *Registry) artifactAfter(ctx context.Context, id, what string) (Artifact, error) {
	a, err := r.log.Artifact(ctx, id)
	if err != nil {
		return Artifact{}, fmt.Errorf("read back %s: %w", what, err)
	}
	return a, nil
}

// resolve finds the artifact a reference names. Deleted artifacts resolve
// only by ID and only when allowDeleted.
func resolve(ctx context.Context, v eventlog.Views, s string, allowDeleted bool) (Artifact, error) {
	ref, err := ParseRef(s)
	if err != nil {
		return Artifact{}, err
	}
	var a Artifact
	switch {
	case ref.ID != "":
		a, err = v.Artifact(ctx, ref.ID)
		if err == nil && a.Deleted != nil && !allowDeleted {
			return Artifact{}, fmt.Errorf("artifact %s (%s) was deleted: %w", ref.ID, a.Ref(), ErrNotFound)
		}
		return a, err
	case !ref.Digest.IsZero():
		return v.ArtifactByDigest(ctx, ref.Name, ref.Digest)
	}
	a, err = v.ArtifactByVersion(ctx, ref.Name, ref.Ident)
	switch {
	case err == nil && a.Deleted != nil:
		return Artifact{}, fmt.Errorf("%s was deleted: %w", ref, ErrNotFound)
	case err == nil:
		return a, nil
	case !errors.Is(err, ErrNotFound):
		return Artifact{}, err
	}
	tag, err := v.Tag(ctx, ref.Name, ref.Ident)
	if errors.Is(err, ErrNotFound) {
		return Artifact{}, fmt.Errorf("%s: no such version or tag%s: %w", ref, newestHint(ctx, v, ref.Name), ErrNotFound)
	}
	if err != nil {
		return Artifact{}, err
	}
	return v.Artifact(ctx, tag.ArtifactID)
}

// newestHint says, for a reference to name that names nothing, which
// version of name is the newest, or that name has none: a bare name
// resolves through its latest tag, which goes with the version it named
// when that is removed, and "no such version or tag" alone leaves the user
// guessing what is left. It is empty when the views cannot say.
func newestHint(ctx context.Context, v eventlog.Views, name string) string {
	vs, err := v.Versions(ctx, name, "", 1)
	switch {
	case err != nil:
		return ""
	case len(vs) == 0:
		return fmt.Sprintf(" (no live artifact is named %s)", name)
	}
	return fmt.Sprintf(" (the newest version of %s is %s:%s; artstore ls %s lists them)", name, name, vs[0], name)
}

// Get returns the artifact a reference names. An ID may name a deleted
// artifact (its Deleted is set); other forms resolve live artifacts only.
// The artifact's row in the views is checked against its registration
// event in the log (checkRegistration), so the digests a pull or a verify
// uses are the ones the log registered; a row that disagrees fails with
// ErrViewMismatch.
func (r *Registry) Get(ctx context.Context, ref string) (Artifact, error) {
	a, err := resolve(ctx, r.log, ref, true)
	if err != nil {
		return a, err
	}
	if err := r.checkRegistration(ctx, ref, a); err != nil {
		return Artifact{}, err
	}
	return a, nil
}

// GetAt is Get for a reading of the log as of its first size events, so
// that an export of that many events names what its references named then:
//
//   - a version names one artifact for ever (versions are never reused), so
//     name:version still names an artifact deleted by a later event, with
//     its Deleted set;
//   - a tag (name:tag, or a bare name's latest) names the artifact it
//     pointed at then, found from the log's tag events (tagAt), even when
//     the tag has moved or gone since, or its artifact was removed since;
//   - a version registered after size, which a tag of the same name cannot
//     have named then, is returned as it is, for the caller to refuse with
//     its registration's seq.
//
// IDs and digests resolve as Get resolves them.
func (r *Registry) GetAt(ctx context.Context, ref string, size int64) (Artifact, error) {
	pr, err := ParseRef(ref)
	if err != nil || pr.ID != "" || !pr.Digest.IsZero() {
		return r.Get(ctx, ref)
	}
	a, err := r.log.ArtifactByVersion(ctx, pr.Name, pr.Ident)
	switch {
	case err == nil && a.Seq <= size && a.Deleted != nil && a.Deleted.Seq > size:
		if err := r.checkRegistration(ctx, ref, a); err != nil {
			return Artifact{}, err
		}
		return a, nil
	case err == nil && a.Seq <= size:
		return r.Get(ctx, ref)
	case err != nil && !errors.Is(err, ErrNotFound):
		return Artifact{}, err
	}
	later := err == nil // a version registered after size
	id, err := r.tagAt(ctx, pr.Name, pr.Ident, size)
	switch {
	case err != nil:
		return Artifact{}, err
	case id == "" && later:
		return r.Get(ctx, ref)
	case id == "":
		return Artifact{}, fmt.Errorf("%s: no such version or tag after the log's first %d events: %w", ref, size, ErrNotFound)
	}
	if a, err = r.Get(ctx, id); err != nil {
		return Artifact{}, err
	}
	if a.Name != pr.Name {
		return Artifact{}, fmt.Errorf("%s: %w: tag %s of %s pointed at %s, an artifact of %s; %s", ref, ErrViewMismatch, pr.Ident, pr.Name, id, a.Name, rebuildHint)
	}
	return a, nil
}

// tagAt returns the ID of the artifact tag of name pointed at after the
// log's first size events, or "" when it pointed at none. A tag that has
// not moved since size is read from the views. Otherwise its history is
// replayed from the events of the name's artifacts (each read through the
// log's subject index): a tag event's subject is the artifact it concerns,
// so every move or removal of a tag of name, and every removal of an
// artifact of name, is among them. The cost follows those artifacts'
// events up to size (retrieval and import records are read but not
// decoded), not the log's length.
func (r *Registry) tagAt(ctx context.Context, name, tag string, size int64) (string, error) {
	t, err := r.log.Tag(ctx, name, tag)
	switch {
	case err == nil && t.MovedSeq <= size:
		return t.ArtifactID, nil
	case err != nil && !errors.Is(err, ErrNotFound):
		return "", err
	}
	type change struct {
		seq int64
		id  string // the artifact the tag points at after the event; "" for none
		del string // for a removal of an artifact, its ID
	}
	var changes []change
	q := eventlog.Query{Name: name, IncludeDeleted: true, Limit: 1000} // oldest first
	for more := true; more; {
		page, err := r.log.Query(ctx, q)
		if err != nil {
			return "", fmt.Errorf("tag %s of %s after %d events: %w", tag, name, size, err)
		}
		q.Cursor, more = page.Next, page.Next != 0
		for _, a := range page.Artifacts {
			if a.Seq > size {
				more = false // and so are the rest
				break
			}
			err := r.log.ReadSubject(ctx, a.ID, a.Seq-1, size, func(ev eventlog.Event) error {
				switch ev.Type {
				case eventlog.TypeArtifactRetrieved, eventlog.TypeArtifactImported:
					return nil // many, or large, and never a change of a tag
				}
				p, err := r.types.Decode(ev.Type, ev.Payload)
				if err != nil {
					return fmt.Errorf("event %d: %w", ev.Seq, err)
				}
				switch p := p.(type) {
				case *eventlog.ArtifactRegistered:
					if slices.Contains(p.Tags, tag) {
						changes = append(changes, change{seq: ev.Seq, id: p.ID})
					}
				case *eventlog.TagMoved:
					if p.Name == name && p.Tag == tag {
						changes = append(changes, change{seq: ev.Seq, id: p.ArtifactID})
					}
				case *eventlog.TagRemoved:
					if p.Name == name && p.Tag == tag {
						changes = append(changes, change{seq: ev.Seq})
					}
				case *eventlog.ArtifactDeleted:
					changes = append(changes, change{seq: ev.Seq, del: p.ArtifactID})
				}
				return nil
			})
			if err != nil {
				return "", fmt.Errorf("tag %s of %s after %d events: read the events of %s: %w", tag, name, size, a.ID, err)
			}
		}
	}
	slices.SortFunc(changes, func(a, b change) int { return cmp.Compare(a.seq, b.seq) })
	id := ""
	for _, c := range changes {
		switch {
		case c.del == "":
			id = c.id
		case c.del == id:
			id = "" // a tag goes with the artifact it points at
		}
	}
	return id, nil
}

// change runs a command on the live artifact ref names: fn validates and
// returns the payloads to append (none for a no-op).
func (r *Registry) change(ctx context.Context, op, actor, ref string, fn func(ctx context.Context, v eventlog.Views, a Artifact) ([]eventlog.Payload, error)) (Artifact, error) {
	now := r.now()
	var id string
	_, err := r.log.AppendFunc(ctx, func(ctx context.Context, v eventlog.Views) ([]eventlog.NewEvent, error) {
		a, err := resolve(ctx, v, ref, false)
		if err != nil {
			return nil, err
		}
		id = a.ID
		ps, err := fn(ctx, v, a)
		if err != nil || len(ps) == 0 {
			return nil, err
		}
		return r.events(actor, now, a.ID, ps...)
	})
	if err != nil {
		return Artifact{}, opError(op, ref, err)
	}
	return r.artifactAfter(ctx, id, ref)
}

// opError says which operation on which reference failed: "op ref: err",
// or "op err" when err already starts with the reference (resolution
// errors do: "a:1: no such version or tag"), so it is not named twice.
func opError(op, ref string, err error) error {
	if msg := err.Error(); strings.HasPrefix(msg, ref+":") || strings.HasPrefix(msg, ref+" ") {
		return fmt.Errorf("%s %w", op, err)
	}
	return fmt.Errorf("%s %s: %w", op, ref, err)
}

// Tag points tag of the artifact's name at the artifact ref names, moving
// it from another version if needed. Tagging with the tag it already has
// changes nothing.
func (r *Registry) Tag(ctx context.Context, actor, ref, tag string) (Artifact, error) {
	if err := ValidateTag(tag); err != nil {
		return Artifact{}, fmt.Errorf("tag %s: %w", ref, err)
	}
	return r.change(ctx, "tag", actor, ref, func(ctx context.Context, v eventlog.Views, a Artifact) ([]eventlog.Payload, error) {
		if slices.Contains(a.Tags, tag) {
			return nil, nil
		}
		if _, err := v.ArtifactByVersion(ctx, a.Name, tag); err == nil {
			return nil, fmt.Errorf("%w: %q is a version of %s", ErrConflict, tag, a.Name)
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if err := r.checkProtected(ctx, v, a.Name, tag); err != nil {
			return nil, err
		}
		return []eventlog.Payload{&eventlog.TagMoved{Name: a.Name, Tag: tag, ArtifactID: a.ID}}, nil
	})
}

// checkProtected refuses to move or remove name:tag when a protected
// pattern matches it and it is set.
func (r *Registry) checkProtected(ctx context.Context, v eventlog.Views, name, tag string) error {
	p := r.protectedBy(tag)
	if p == "" {
		return nil
	}
	cur, err := v.Tag(ctx, name, tag)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	at := cur.ArtifactID
	if a, err := v.Artifact(ctx, cur.ArtifactID); err == nil {
		at = a.Ref()
	}
	return fmt.Errorf("%w: tag %s:%s is protected (tags.protected %q) and points at %s; protected tags are never moved", ErrConflict, name, tag, p, at)
}

// Untag removes tag from name.
func (r *Registry) Untag(ctx context.Context, actor, name, tag string) error {
	if err := ValidateName(name); err != nil {
		return fmt.Errorf("untag: %w", err)
	}
	if err := ValidateTag(tag); err != nil {
		return fmt.Errorf("untag: %w", err)
	}
	now := r.now()
	_, err := r.log.AppendFunc(ctx, func(ctx context.Context, v eventlog.Views) ([]eventlog.NewEvent, error) {
		t, err := v.Tag(ctx, name, tag)
		if err != nil {
			return nil, err
		}
		if err := r.checkProtected(ctx, v, name, tag); err != nil {
			return nil, err
		}
		return r.events(actor, now, t.ArtifactID, &eventlog.TagRemoved{Name: name, Tag: tag})
	})
	if err != nil {
		return fmt.Errorf("untag %s:%s: %w", name, tag, err)
	}
	return nil
}

// Label sets and removes labels. Setting a label to its current value or
// removing an absent one is not a change; if nothing changes, nothing is
// appended.
func (r *Registry) Label(ctx context.Context, actor, ref string, set map[string]string, remove []string) (Artifact, error) {
	for _, k := range sortedKeys(set) {
		if err := ValidateLabel(k, set[k]); err != nil {
			return Artifact{}, fmt.Errorf("label %s: %w", ref, err)
		}
		if slices.Contains(remove, k) {
			return Artifact{}, fmt.Errorf("label %s: %w: %q is both set and removed", ref, ErrInvalid, k)
		}
	}
	for _, k := range remove {
		if err := ValidateLabel(k, ""); err != nil {
			return Artifact{}, fmt.Errorf("label %s: %w", ref, err)
		}
	}
	if err := checkReserved(append(sortedKeys(set), remove...)); err != nil {
		return Artifact{}, fmt.Errorf("label %s: %w", ref, err)
	}
	return r.change(ctx, "label", actor, ref, func(_ context.Context, _ eventlog.Views, a Artifact) ([]eventlog.Payload, error) {
		p := &eventlog.LabelsChanged{ArtifactID: a.ID, Set: map[string]string{}}
		for k, v := range set {
			if old, ok := a.Labels[k]; !ok || old != v {
				p.Set[k] = v
			}
		}
		for _, k := range remove {
			if _, ok := a.Labels[k]; ok && !slices.Contains(p.Remove, k) {
				p.Remove = append(p.Remove, k)
			}
		}
		if len(p.Set) == 0 && len(p.Remove) == 0 {
			return nil, nil
		}
		slices.Sort(p.Remove)
		return []eventlog.Payload{p}, nil
	})
}

// SetRetention replaces the artifact's retention settings. Immutability
// can be extended but never shortened or removed (ErrForbiddenByRetention).
func (r *Registry) SetRetention(ctx context.Context, actor, ref string, ret eventlog.Retention) (Artifact, error) {
	return r.change(ctx, "set retention of", actor, ref, func(_ context.Context, _ eventlog.Views, a Artifact) ([]eventlog.Payload, error) {
		if cur := a.Retention.ImmutableUntil; !cur.IsZero() && ret.ImmutableUntil.Before(cur) && cur.After(r.now()) {
			return nil, fmt.Errorf("%w: immutable until %s; it can be extended, not shortened", ErrForbiddenByRetention, cur.Format(time.RFC3339))
		}
		if a.Retention.ExpiresAt.Equal(ret.ExpiresAt) && a.Retention.ImmutableUntil.Equal(ret.ImmutableUntil) {
			return nil, nil
		}
		return []eventlog.Payload{&eventlog.RetentionSet{ArtifactID: a.ID, ExpiresAt: ret.ExpiresAt.UTC(), ImmutableUntil: ret.ImmutableUntil.UTC()}}, nil
	})
}

// Hold places the named legal hold (ErrConflict if already placed).
func (r *Registry) Hold(ctx context.Context, actor, ref, hold, reason string) (Artifact, error) {
	if err := validateHold(hold, reason); err != nil {
		return Artifact{}, fmt.Errorf("hold %s: %w", ref, err)
	}
	return r.change(ctx, "hold", actor, ref, func(_ context.Context, _ eventlog.Views, a Artifact) ([]eventlog.Payload, error) {
		if slices.ContainsFunc(a.Holds, func(h eventlog.Hold) bool { return h.Name == hold }) {
			return nil, fmt.Errorf("%w: hold %q is already placed", ErrConflict, hold)
		}
		return []eventlog.Payload{&eventlog.HoldPlaced{ArtifactID: a.ID, Hold: hold, Reason: reason}}, nil
	})
}

// Release releases the named legal hold (ErrNotFound if not placed).
func (r *Registry) Release(ctx context.Context, actor, ref, hold, reason string) (Artifact, error) {
	if err := validateHold(hold, reason); err != nil {
		return Artifact{}, fmt.Errorf("release %s: %w", ref, err)
	}
	return r.change(ctx, "release hold on", actor, ref, func(_ context.Context, _ eventlog.Views, a Artifact) ([]eventlog.Payload, error) {
		if !slices.ContainsFunc(a.Holds, func(h eventlog.Hold) bool { return h.Name == hold }) {
			return nil, fmt.Errorf("hold %q is not placed: %w", hold, ErrNotFound)
		}
		return []eventlog.Payload{&eventlog.HoldReleased{ArtifactID: a.ID, Hold: hold, Reason: reason}}, nil
	})
}

func validateHold(hold, reason string) error {
	if err := validateVersionLike("hold name", hold); err != nil {
		return err
	}
	if !textfmt.Printable(reason, maxTextLen) {
		return fmt.Errorf("%w: reason must be printable and at most %d bytes", ErrInvalid, maxTextLen)
	}
	return nil
}

// Delete tombstones the artifact: it leaves listings and references, its
// tags are removed, and its blobs become garbage. It is refused with
// ErrForbiddenByRetention under a legal hold or before immutable-until.
func (r *Registry) Delete(ctx context.Context, actor, ref, reason string) (Artifact, error) {
	if !textfmt.Printable(reason, maxTextLen) {
		return Artifact{}, fmt.Errorf("delete %s: %w: reason must be printable and at most %d bytes", ref, ErrInvalid, maxTextLen)
	}
	return r.change(ctx, "delete", actor, ref, func(_ context.Context, _ eventlog.Views, a Artifact) ([]eventlog.Payload, error) {
		if len(a.Holds) > 0 {
			return nil, fmt.Errorf("%w: legal hold %q is placed", ErrForbiddenByRetention, a.Holds[0].Name)
		}
		if until := a.Retention.ImmutableUntil; until.After(r.now()) {
			return nil, fmt.Errorf("%w: immutable until %s", ErrForbiddenByRetention, until.Format(time.RFC3339))
		}
		return []eventlog.Payload{&eventlog.ArtifactDeleted{ArtifactID: a.ID, Reason: reason}}, nil
	})
}

// Retrieval describes one read of an artifact's content.
type Retrieval struct {
	Bytes int64 `json:"bytes"`
	// Range is the inclusive byte range read ("start-end"), "" for all.
	Range string `json:"range,omitempty"`
	// Client identifies the client program or address.
	Client string `json:"client,omitempty"`
}

// RecordRetrieval appends a retrieval record. An ID may name a deleted
// artifact (a read that finished after a concurrent delete). The byte
// count must fit the artifact: at most its size, or the range's length
// (ErrInvalid).
func (r *Registry) RecordRetrieval(ctx context.Context, actor, ref string, rec Retrieval) error {
	_, err := r.RetrievalEvent(ctx, actor, ref, rec)
	return err
}

// RetrievalEvent is RecordRetrieval that returns the event it appended:
// its seq identifies a pull whose URLs the daemon hands out in pages.
func (r *Registry) RetrievalEvent(ctx context.Context, actor, ref string, rec Retrieval) (eventlog.Event, error) {
	if rec.Bytes < 0 || !textfmt.Printable(rec.Range, 64) || !textfmt.Printable(rec.Client, 256) {
		return eventlog.Event{}, fmt.Errorf("record retrieval of %s: %w: bytes must not be negative, range and client printable", ref, ErrInvalid)
	}
	now := r.now()
	evs, err := r.log.AppendFunc(ctx, func(ctx context.Context, v eventlog.Views) ([]eventlog.NewEvent, error) {
		a, err := resolve(ctx, v, ref, true)
		if err != nil {
			return nil, err
		}
		if err := checkRetrieval(a, rec); err != nil {
			return nil, err
		}
		return r.events(actor, now, a.ID, &eventlog.ArtifactRetrieved{ArtifactID: a.ID, Bytes: rec.Bytes, Range: rec.Range, Client: rec.Client})
	})
	if err != nil {
		return eventlog.Event{}, fmt.Errorf("record retrieval of %s: %w", ref, err)
	}
	if len(evs) != 1 {
		return eventlog.Event{}, fmt.Errorf("record retrieval of %s: the log appended %d events, want 1", ref, len(evs))
	}
	return evs[0], nil
}

// checkRetrieval checks a retrieval's byte count against what a can
// yield: at most its size, and with a range, a range of its content and at
// most its length.
func checkRetrieval(a Artifact, rec Retrieval) error {
	most := a.Size
	if rec.Range != "" {
		rg, err := content.ParseRange(rec.Range, a.Size)
		if err != nil {
			return fmt.Errorf("%w: range %q of %s: %v", ErrInvalid, rec.Range, a.Ref(), err)
		}
		most = rg.Length()
	}
	if rec.Bytes > most {
		return fmt.Errorf("%w: %d bytes retrieved, more than the %d bytes %s can yield", ErrInvalid, rec.Bytes, most, a.Ref())
	}
	return nil
}

// RecordBlobsCollected appends the audit record of a garbage collection
// run: the blobs it deleted from backend and their total size. It changes
// no view.
func (r *Registry) RecordBlobsCollected(ctx context.Context, actor, backend string, ds []content.Digest, bytes int64) error {
	if len(ds) == 0 {
		return nil
	}
	if bytes < 0 || !textfmt.Printable(backend, 256) || slices.ContainsFunc(ds, content.Digest.IsZero) {
		return fmt.Errorf("record collected blobs: %w: bytes must not be negative, digests valid", ErrInvalid)
	}
	evs, err := r.events(actor, r.now(), backend, &eventlog.BlobsCollected{Backend: backend, Digests: ds, Bytes: bytes})
	if err == nil {
		_, err = r.log.Append(ctx, evs)
	}
	if err != nil {
		return fmt.Errorf("record collected blobs: %w", err)
	}
	return nil
}

// ListOptions select artifacts for List. Zero fields do not constrain.
type ListOptions struct {
	// Name matches exactly; NamePrefix by prefix; NameGlob with '*' (any
	// characters, '/' included) and '?' (one character).
	Name       string
	NamePrefix string
	NameGlob   string
	Selectors  []eventlog.Selector
	// CreatedAfter / CreatedBefore are exclusive bounds.
	CreatedAfter  time.Time
	CreatedBefore time.Time
	// ExpiresBefore selects artifacts whose retention expiry is set and
	// before it (what a retention sweep deletes).
	ExpiresBefore  time.Time
	IncludeDeleted bool
	// Newest lists newest first.
	Newest bool
	// Cursor is a previous ListResult.Next.
	Cursor string
	// Limit is the page size: 0 means 100; at most 10000.
	Limit int
}

// ListResult is one page of List.
type ListResult struct {
	Artifacts []Artifact `json:"artifacts"`
	// Next is the cursor of the next page, "" after the last page.
	Next string `json:"next,omitempty"`
}

// List returns a page of artifacts matching opts, by registration order.
func (r *Registry) List(ctx context.Context, opts ListOptions) (ListResult, error) {
	q := eventlog.Query{Name: opts.Name, NamePrefix: opts.NamePrefix, Selectors: opts.Selectors,
		CreatedAfter: opts.CreatedAfter, CreatedBefore: opts.CreatedBefore, ExpiresBefore: opts.ExpiresBefore, IncludeDeleted: opts.IncludeDeleted,
		Newest: opts.Newest, Limit: opts.Limit}
	if opts.Limit < 0 || opts.Limit > 10000 {
		return ListResult{}, fmt.Errorf("list: %w: limit %d is not between 0 and 10000", ErrInvalid, opts.Limit)
	}
	if opts.Name != "" {
		if err := ValidateName(opts.Name); err != nil {
			return ListResult{}, fmt.Errorf("list: %w", err)
		}
	}
	if err := validateNamePrefix(opts.NamePrefix); err != nil {
		return ListResult{}, fmt.Errorf("list: %w", err)
	}
	if len(opts.Selectors) > MaxSelectors {
		return ListResult{}, fmt.Errorf("list: %w: %d label selectors; at most %d are allowed", ErrInvalid, len(opts.Selectors), MaxSelectors)
	}
	if opts.NameGlob != "" {
		like, err := globToLike(opts.NameGlob)
		if err != nil {
			return ListResult{}, fmt.Errorf("list: %w", err)
		}
		q.NameLike = like
	}
	for _, s := range opts.Selectors {
		if err := ValidateLabel(s.Key, s.Value); err != nil {
			return ListResult{}, fmt.Errorf("list: %w", err)
		}
	}
	if opts.Cursor != "" {
		c, err := strconv.ParseInt(opts.Cursor, 10, 64)
		if err != nil || c <= 0 {
			return ListResult{}, fmt.Errorf("list: %w: bad cursor %q", ErrInvalid, textfmt.Clip(opts.Cursor, 80))
		}
		q.Cursor = c
	}
	p, err := r.log.Query(ctx, q)
	if err != nil {
		return ListResult{}, fmt.Errorf("list: %w", err)
	}
	res := ListResult{Artifacts: p.Artifacts}
	if p.Next != 0 {
		res.Next = strconv.FormatInt(p.Next, 10)
	}
	return res, nil
}

// Lineage is a provenance graph around Root.
type Lineage struct {
	Root string `json:"root"`
	// Nodes holds every artifact in the graph, Root included, by ID.
	// Deleted artifacts appear with Deleted set.
	Nodes map[string]Artifact `json:"nodes"`
	// Edges in breadth-first order. An edge with an empty Parent is a raw
	// content input.
	Edges []eventlog.Edge `json:"edges"`
}

// Lineage walks the provenance graph from ref: its ancestors (Parents) or
// descendants (Children), up to depth levels (depth <= 0: no limit). Each
// artifact is visited once, so the walk ends whatever the graph's shape.
func (r *Registry) Lineage(ctx context.Context, ref string, dir eventlog.Direction, depth int) (Lineage, error) {
	return r.LineageVisible(ctx, ref, dir, depth, nil)
}

// LineageVisible is Lineage over the artifacts visible says the caller may
// see (nil: all of them): an edge to an artifact it may not see is left
// out, with that artifact, and the walk does not go through it, so the
// graph holds no ID, reference or digest of a hidden artifact. The root is
// the caller's to check.
func (r *Registry) LineageVisible(ctx context.Context, ref string, dir eventlog.Direction, depth int, visible func(Artifact) bool) (Lineage, error) {
	if dir != eventlog.Parents && dir != eventlog.Children {
		return Lineage{}, fmt.Errorf("lineage: %w: unknown direction %d", ErrInvalid, dir)
	}
	root, err := r.Get(ctx, ref)
	if err != nil {
		return Lineage{}, fmt.Errorf("lineage of %s: %w", ref, err)
	}
	l := Lineage{Root: root.ID, Nodes: map[string]Artifact{root.ID: root}, Edges: []eventlog.Edge{}}
	frontier := []string{root.ID}
	hidden := map[string]bool{}
	for level := 0; len(frontier) > 0 && (depth <= 0 || level < depth); level++ {
		var next []string
		for _, id := range frontier {
			edges, err := r.log.Edges(ctx, id, dir)
			if err != nil {
				return Lineage{}, fmt.Errorf("lineage of %s: %w", ref, err)
			}
			for _, e := range edges {
				other := e.Parent
				if dir == eventlog.Children {
					other = e.Child
				}
				if other == "" {
					l.Edges = append(l.Edges, e)
					continue
				}
				if hidden[other] {
					continue
				}
				if _, seen := l.Nodes[other]; seen {
					l.Edges = append(l.Edges, e)
					continue
				}
				a, err := r.log.Artifact(ctx, other)
				if err != nil {
					return Lineage{}, fmt.Errorf("lineage of %s: %w", ref, err)
				}
				if visible != nil && !visible(a) {
					hidden[other] = true
					continue
				}
				l.Edges = append(l.Edges, e)
				l.Nodes[other] = a
				next = append(next, other)
			}
		}
		frontier = next
	}
	return l, nil
}

// Tags returns the tags of name.
func (r *Registry) Tags(ctx context.Context, name string) ([]eventlog.Tag, error) {
	if err := ValidateName(name); err != nil {
		return nil, fmt.Errorf("tags: %w", err)
	}
	return r.log.Tags(ctx, name)
}

// Events returns up to limit events after seq (limit 0 means 100, at most
// 10000), oldest first.
func (r *Registry) Events(ctx context.Context, after int64, limit int) ([]eventlog.Event, error) {
	if limit == 0 {
		limit = 100
	}
	if limit < 0 || limit > 10000 || after < 0 {
		return nil, fmt.Errorf("events: %w: limit must be 0 to 10000 and after not negative", ErrInvalid)
	}
	out := []eventlog.Event{}
	errFull := errors.New("full")
	err := r.log.Read(ctx, after, func(e eventlog.Event) error {
		out = append(out, e)
		if len(out) == limit {
			return errFull
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFull) {
		return nil, fmt.Errorf("events: %w", err)
	}
	return out, nil
}

// Head returns the log's last seq and hash.
func (r *Registry) Head(ctx context.Context) (eventlog.Head, error) { return r.log.Head(ctx) }

// VerifyLog verifies the hash chain from fromSeq; see eventlog.Store.Verify
// (a broken chain returns the report and a *eventlog.ChainError).
func (r *Registry) VerifyLog(ctx context.Context, fromSeq int64) (eventlog.VerifyReport, error) {
	return r.log.Verify(ctx, fromSeq)
}

// Rebuild rebuilds the views from the log and returns the number of events
// replayed.
func (r *Registry) Rebuild(ctx context.Context) (int64, error) { return r.log.Rebuild(ctx) }

// sortedKeys is used for deterministic error messages.
func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
