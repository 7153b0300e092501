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
	"github.com/artifact-store/artstore/pkg/api"
)

// Import reads an evidence bundle of another store (artstore export) from
// r, verifies all of it as verify-bundle does (with key, the other store's
// verifier key, or else the bundle's own), storing each manifest and chunk
// as it is verified, then registers its artifacts here with the same
// names, versions and digests, inputs before the artifacts made from them.
// Each registration is followed, in its append, by an import record
// (eventlog.ArtifactImported) keeping the other store's events and proofs
// as they are: they are evidence signed by the other store, never re-signed
// by this one. Nothing is registered unless the whole bundle verifies; the
// blobs of a bundle that fails are left for gc.
//
// An artifact this store already has (same name, version and content) is
// "present" and left alone, so importing a bundle twice is harmless; the
// same name and version with other content is a conflict, refused before
// anything is registered. Tags are not imported (a tag names this store's
// choice; "latest" does not move). Artifacts the bundle holds only the
// events of (deleted in the other store) are reported, not registered.
func (s *Service) Import(ctx context.Context, p Principal, r io.Reader, key string) (api.ImportResult, error) {
	rep, err := bundle.Verify(r, bundle.Options{Key: key, Blob: func(d content.Digest, size int64, br io.Reader) error {
		_, err := s.backend.Put(ctx, d, size, br)
		return err
	}})
	if err != nil {
		return api.ImportResult{}, fmt.Errorf("import: %w", err)
	}
	res := api.ImportResult{Origin: rep.Origin, Key: rep.Key, KeyGiven: key != "", CheckpointSize: rep.Size, Events: rep.Events, Bytes: rep.Bytes}
	plan, err := s.planImport(ctx, p, rep)
	if err != nil {
		return api.ImportResult{}, err
	}
	local := map[string]string{} // foreign ID -> local ID
	for _, it := range plan {
		a := it.a
		if it.status == "present" {
			local[a.ID] = it.localID
		}
		if it.status != "imported" {
			continue
		}
		rr := importRequest(rep, a, key != "", local)
		rr.AllowInput = p.Allow
		got, err := s.reg.Register(ctx, p.Actor, rr)
		if err != nil {
			return res, fmt.Errorf("import %s: %w", a.Ref, err)
		}
		s.notify()
		local[a.ID], it.localID = got.ID, got.ID
	}
	// Report in the bundle's order: requested first.
	for i := len(plan) - 1; i >= 0; i-- {
		it := plan[i]
		res.Artifacts = append(res.Artifacts, api.ImportedArtifact{Ref: it.a.Ref, ID: it.localID, ForeignID: it.a.ID, Digest: it.a.Digest, Status: it.status})
	}
	return res, nil
}

// MaxImportEvidence bounds the other store's events one import record
// keeps (it is one event of this log).
const MaxImportEvidence = 16 << 20

// evidenceSize is about the size of the import record of a.
func evidenceSize(rep *bundle.Report, a *bundle.ArtifactReport) int {
	n := len(rep.Checkpoint) + len(rep.Key)
	for _, e := range a.Proved {
		n += len(e.Body) + len(e.Prev) + len(e.Proof)*45
	}
	return n
}

type importItem struct {
	a       *bundle.ArtifactReport
	status  string
	localID string
}

// planImport decides, before anything is registered, what happens to each
// artifact of a verified bundle, deepest inputs first.
func (s *Service) planImport(ctx context.Context, p Principal, rep *bundle.Report) ([]*importItem, error) {
	var plan []*importItem
	for i := len(rep.Artifacts) - 1; i >= 0; i-- {
		a := &rep.Artifacts[i]
		it := &importItem{a: a, status: "imported"}
		plan = append(plan, it)
		if a.Deleted {
			it.status = "deleted"
			continue
		}
		if err := p.Allow(a.Registration.Name); err != nil {
			return nil, fmt.Errorf("import %s: %w", a.Ref, err)
		}
		have, err := s.reg.Get(ctx, a.Ref)
		switch {
		case errors.Is(err, registry.ErrNotFound):
			if n := evidenceSize(rep, a); n > MaxImportEvidence {
				return nil, Mark(fmt.Errorf("import %s: its events in the bundle are %d bytes, more than the %d one import record keeps; nothing was imported (verify-bundle checks such a bundle; keep it as it is)", a.Ref, n, MaxImportEvidence), api.ErrInvalid)
			}
			continue
		case err != nil:
			return nil, fmt.Errorf("import %s: %w", a.Ref, err)
		case have.ContentDigest != a.Registration.ContentDigest || have.Name != a.Registration.Name || have.Version != a.Registration.Version:
			return nil, Mark(fmt.Errorf("import: this store's %s:%s is %s, the bundle's %s is %s: nothing was imported (import into another store, or delete this store's version first if it is not needed)",
				have.Name, have.Version, have.ContentDigest, a.Ref, a.Digest), api.ErrConflict)
		}
		it.status, it.localID = "present", have.ID
	}
	return plan, nil
}

// importRequest is the registration of a bundle's artifact here: its
// registration as the other store recorded it, labels as the bundle's
// events left them, inputs imported with it (or already here) linked to
// this store's copies, the others kept by content digest, and the import
// record.
func importRequest(rep *bundle.Report, a *bundle.ArtifactReport, keyGiven bool, local map[string]string) registry.RegisterRequest {
	reg := a.Registration
	rr := registry.RegisterRequest{
		Name: reg.Name, Version: reg.Version, ContentDigest: reg.ContentDigest, ManifestDigest: reg.ManifestDigest,
		Size: reg.Size, MediaType: reg.MediaType, Labels: a.Labels, Producer: reg.Provenance.Producer,
		NoLatest: true, Reserved: true, Imported: bundle.ImportRecord(rep, a, keyGiven),
	}
	digests, refs := map[string]content.Digest{}, map[string]string{}
	for _, b := range rep.Artifacts {
		digests[b.ID], refs[b.ID] = b.Registration.ContentDigest, b.Ref
	}
	for _, in := range reg.Provenance.Inputs {
		ri := registry.Input{Digest: in.Digest, Role: in.Role}
		if ri.Digest.IsZero() {
			ri.Digest = digests[in.ArtifactID]
		}
		if _, ok := local[in.ArtifactID]; ok && in.ArtifactID != "" {
			// Imported or present here: its name:version resolves to
			// this store's copy (planImport refused any other content
			// under it), and the registry checks the digest.
			ri.Ref = refs[in.ArtifactID]
		}
		if ri.Ref == "" && ri.Digest.IsZero() {
			continue // an input outside the bundle's closure, known by ID only: its record is in the evidence
		}
		rr.Inputs = append(rr.Inputs, ri)
	}
	return rr
}

// importOrigin returns where artifact a came from if it was imported: its
// import record is the event right after its registration. The kept
// evidence is checked again.
func (s *Service) importOrigin(ctx context.Context, a eventlog.Artifact) (*api.ImportOrigin, error) {
	ev, err := s.log.Event(ctx, a.Seq+1)
	if errors.Is(err, eventlog.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("import record of %s: %w", a.ID, err)
	}
	if ev.Type != eventlog.TypeArtifactImported || ev.Subject != a.ID {
		return nil, nil
	}
	pl, err := eventlog.DefaultTypes().Decode(ev.Type, ev.Payload)
	if err != nil {
		return nil, fmt.Errorf("import record of %s: %w", a.ID, err)
	}
	imp := pl.(*eventlog.ArtifactImported)
	o := &api.ImportOrigin{Seq: ev.Seq, Origin: imp.Origin, ForeignID: imp.ForeignID, Key: imp.Key, KeyGiven: imp.KeyGiven, Events: len(imp.Events)}
	f, err := bundle.VerifyForeign(imp)
	if err != nil {
		o.Problem = err.Error()
		return o, nil
	}
	o.Verified, o.CheckpointSize = true, f.Checkpoint.Size
	o.ForeignSeq, o.RegisteredAt, o.RegisteredBy = f.Registration.Seq, f.Registration.Time, f.Registration.Actor
	return o, nil
}
