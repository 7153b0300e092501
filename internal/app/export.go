package app

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/artifact-store/artstore/internal/bundle"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/tlog"
	"github.com/artifact-store/artstore/pkg/api"
)

// MaxExportRefs is the most references one export names.
const MaxExportRefs = 1000

// Export writes the evidence bundle (internal/bundle) of req.Refs to w: the
// artifacts' bytes, every event about them up to the bundle's tree size,
// their provenance closure to depth req.Closure, an inclusion proof of
// each event against the checkpoint of that size, signed with the store's
// key, and the key. The size is req.At, or the log's current size when 0.
//
// Each reference resolves for p as show resolves it (an artifact ID also
// names a deleted artifact, exported as its events only), except that at
// a size before an artifact's deletion its version names it too, as it
// did then. For a
// principal limited to a name prefix, every artifact of the closure, and
// every artifact their registrations name as inputs, must be under the
// prefix: the export fails before writing anything, naming the first that
// is not by its ID only.
//
// After the bundle is written, a retrieval record is appended for each
// artifact whose bytes it holds, as a pull appends one: an export is
// audited like a pull. Those records are events after the bundle's size,
// so an export with At set to an earlier export's size writes the same
// bytes again; an export without At includes the records of earlier
// exports. Errors before the first byte leave w untouched.
func (s *Service) Export(ctx context.Context, p Principal, req api.ExportRequest, w io.Writer) (api.ExportSummary, error) {
	return s.export(ctx, p, req, w, true)
}

// ExportUnrecorded is Export without the retrieval records, for local mode
// with retrieval records off (a pull there records none either).
func (s *Service) ExportUnrecorded(ctx context.Context, p Principal, req api.ExportRequest, w io.Writer) (api.ExportSummary, error) {
	return s.export(ctx, p, req, w, false)
}

func (s *Service) export(ctx context.Context, p Principal, req api.ExportRequest, w io.Writer, record bool) (api.ExportSummary, error) {
	if s.backend == nil {
		return api.ExportSummary{}, fmt.Errorf("export: %w", errNoBackend)
	}
	breq, err := s.exportRequest(ctx, p, req)
	if err != nil {
		return api.ExportSummary{}, fmt.Errorf("export: %w", err)
	}
	sum, err := bundle.Export(ctx, &exportSource{s: s, p: p, v: s.view(p)}, breq, w)
	if err != nil {
		return api.ExportSummary{}, err
	}
	out := api.ExportSummary{
		Origin: sum.Index.Origin, Size: sum.Index.Size, Root: sum.Index.Root, Closure: sum.Index.Closure,
		Events: len(sum.Index.Events), Bytes: sum.Bytes,
	}
	for _, a := range sum.Index.Artifacts {
		out.Artifacts = append(out.Artifacts, api.ExportedArtifact{
			ID: a.ID, Ref: a.Ref, Digest: a.Digest.String(), Size: a.Size, Depth: a.Depth, Bytes: a.Bytes,
		})
	}
	if !record {
		return out, nil
	}
	if err := s.recordExport(ctx, p, out.Artifacts); err != nil {
		return out, err
	}
	return out, nil
}

// exportRequest resolves req for p and signs the checkpoint of its size.
func (s *Service) exportRequest(ctx context.Context, p Principal, req api.ExportRequest) (bundle.Request, error) {
	switch {
	case len(req.Refs) == 0:
		return bundle.Request{}, fmt.Errorf("%w: name at least one artifact to export", api.ErrInvalid)
	case len(req.Refs) > MaxExportRefs:
		return bundle.Request{}, fmt.Errorf("%w: %d references are more than the %d one export takes", api.ErrInvalid, len(req.Refs), MaxExportRefs)
	case req.Closure < bundle.ClosureAll:
		return bundle.Request{}, fmt.Errorf("%w: closure depth %d: give a depth of 0 or more, or -1 for any depth", api.ErrInvalid, req.Closure)
	case req.At < 0:
		return bundle.Request{}, fmt.Errorf("%w: tree size %d is negative", api.ErrInvalid, req.At)
	}
	k, err := s.keys.get()
	if err != nil {
		return bundle.Request{}, err
	}
	head, err := s.log.TreeHead(ctx)
	if err != nil {
		return bundle.Request{}, err
	}
	size := head.Size
	if req.At != 0 {
		if req.At > head.Size {
			return bundle.Request{}, fmt.Errorf("%w: tree size %d is past the log's %d events; give a size of at most %d", api.ErrInvalid, req.At, head.Size, head.Size)
		}
		size = req.At
	}
	breq := bundle.Request{Closure: req.Closure, Key: k.VerifierKey()}
	for _, ref := range req.Refs {
		a, err := s.resolveAt(ctx, p, ref, size)
		if err != nil {
			return bundle.Request{}, err
		}
		if a.Seq > size {
			return bundle.Request{}, fmt.Errorf("%w: %s was registered by event %d, after the log's first %d events the bundle is for; export at %d or later", api.ErrInvalid, ref, a.Seq, size, a.Seq)
		}
		breq.IDs = append(breq.IDs, a.ID)
	}
	h := head
	if size != head.Size {
		if h, err = s.log.TreeHeadAt(ctx, size); err != nil {
			return bundle.Request{}, err
		}
	}
	if breq.Checkpoint, err = k.Sign(h); err != nil {
		return bundle.Request{}, err
	}
	return breq, nil
}

// recordExport appends the retrieval record of each exported artifact
// whose bytes the bundle holds (and that is not deleted since).
func (s *Service) recordExport(ctx context.Context, p Principal, as []api.ExportedArtifact) error {
	for _, a := range as {
		if !a.Bytes {
			continue
		}
		err := s.reg.RecordRetrieval(ctx, p.Actor, a.ID, registry.Retrieval{Bytes: a.Size, Client: p.Client})
		if errors.Is(err, registry.ErrNotFound) {
			continue // deleted after the bundle's size
		}
		if err != nil {
			return fmt.Errorf("export: append the retrieval record of %s: %w", a.Ref, err)
		}
		s.notify()
	}
	return nil
}

// exportSource is the bundle.Source of an export for p.
type exportSource struct {
	s *Service
	p Principal
	v *view
}

// allowed checks, for a principal limited to a name prefix, that the
// artifact a and every artifact its registration names as an input are
// under the prefix. A bundle holds the registration event as it is,
// inputs' names and digests included, and such a principal learns no
// digest of an artifact it may not read (see view): an export that would
// show one is refused, naming the input by its ID only.
func (src *exportSource) allowed(ctx context.Context, a eventlog.Artifact) error {
	if src.p.Prefix == "" {
		return nil
	}
	if src.p.Allow(a.Name) != nil {
		return Mark(fmt.Errorf("the provenance closure reaches artifact %s, whose name is outside the names %s may read (%q); export without --closure or with a token that may read it", a.ID, src.p.who(), src.p.Prefix), api.ErrForbidden)
	}
	for _, in := range a.Provenance.Inputs {
		if in.ArtifactID == "" {
			continue
		}
		name, err := src.v.inputName(ctx, in)
		if err != nil {
			return err
		}
		if src.p.Allow(name) != nil {
			return Mark(fmt.Errorf("%s (%s) was made from artifact %s, whose name is outside the names %s may read (%q): a bundle holds its registration as recorded, naming that input, so export it with a token that may read both",
				a.Ref(), a.ID, in.ArtifactID, src.p.who(), src.p.Prefix), api.ErrForbidden)
		}
	}
	return nil
}

// Events reads the events about id, from its registration up to size,
// through the log's index by subject, after checking that p may export it
// (allowed) and that its bytes are there if the bundle is to hold them
// (stored).
func (src *exportSource) Events(ctx context.Context, id string, size int64) ([]eventlog.Event, error) {
	a, err := src.s.reg.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("artifact %s: %w", id, err)
	}
	if err := src.allowed(ctx, a); err != nil {
		return nil, err
	}
	if err := src.stored(ctx, a, size); err != nil {
		return nil, err
	}
	var out []eventlog.Event
	err = src.s.log.ReadSubject(ctx, id, a.Seq-1, size, func(ev eventlog.Event) error {
		out = append(out, ev)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the events of %s: %w", a.Ref(), err)
	}
	return out, nil
}

// stored refuses, before the first byte, the bundle of size events of an
// artifact deleted after them whose manifest is collected since: the
// bundle would hold bytes that are gone.
func (src *exportSource) stored(ctx context.Context, a eventlog.Artifact, size int64) error {
	if a.Deleted == nil || a.Deleted.Seq <= size || a.Seq > size {
		return nil
	}
	missing, err := storage.Missing(ctx, src.s.backend, []content.Digest{a.ManifestDigest})
	if err != nil {
		return fmt.Errorf("%s: %w", a.Ref(), err)
	}
	if len(missing) > 0 {
		return Mark(fmt.Errorf("%s (%s) was deleted by event %d and its bytes are collected, but a bundle of the log's first %d events holds them: export at a size of %d or more, where it has its events only",
			a.Ref(), a.ID, a.Deleted.Seq, size, a.Deleted.Seq), api.ErrNotFound)
	}
	return nil
}

func (src *exportSource) InclusionProof(ctx context.Context, seq, size int64) (tlog.Proof, error) {
	return src.s.log.InclusionProof(ctx, seq, size)
}

// Open reads the stored blob d, failing with content.ErrMismatch unless
// the bytes hash to d.
func (src *exportSource) Open(ctx context.Context, d content.Digest) (io.ReadCloser, error) {
	rc, err := src.s.backend.Get(ctx, d, nil)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", d, err)
	}
	return verifiedBlob{Reader: content.NewVerifyingReader(rc, d, -1), c: rc}, nil
}

type verifiedBlob struct {
	io.Reader
	c io.Closer
}

func (b verifiedBlob) Close() error { return b.c.Close() }
