package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/pkg/api"
)

// Direct transfer defaults.
const (
	// DefaultURLTTL is how long a presigned URL stays valid: long enough
	// for a chunk's upload or download to start after a slow check, short
	// enough that a leaked URL is soon worthless.
	DefaultURLTTL = 15 * time.Minute
	// DefaultGrantTTL is how long after a pull's grant (its retrieval
	// record) the daemon still hands out URLs of its chunks: a pull of
	// terabytes takes hours.
	DefaultGrantTTL = 24 * time.Hour
	// PullURLPage is the most chunk URLs one PullURLs answer holds (about
	// 1 GiB of content at the default chunk size, 300 KB of JSON).
	PullURLPage = 512
)

// Direct configures direct transfers: the daemon authorises, the client
// moves the bytes to and from the storage backend on presigned requests.
// The daemon makes one only for a backend that passed
// storage.Presigner.CheckPresign.
type Direct struct {
	Presigner storage.Presigner
	// URLTTL is how long each presigned URL is valid; 0 means
	// DefaultURLTTL.
	URLTTL time.Duration
	// GrantTTL bounds how long after a pull's grant its chunk URLs are
	// handed out; 0 means DefaultGrantTTL.
	GrantTTL time.Duration
	// MaxBlob bounds the size of a presigned upload (the daemon's blob
	// PUT limit); 0 means no bound of artstore's own.
	MaxBlob int64
}

func (d *Direct) urlTTL() time.Duration {
	if d.URLTTL > 0 {
		return d.URLTTL
	}
	return DefaultURLTTL
}

func (d *Direct) grantTTL() time.Duration {
	if d.GrantTTL > 0 {
		return d.GrantTTL
	}
	return DefaultGrantTTL
}

// SignedRequest converts a presigned request to its wire form.
func SignedRequest(sr storage.SignedRequest) api.SignedRequest {
	return api.SignedRequest{Method: sr.Method, URL: sr.URL, Header: sr.Header, Expires: sr.Expires.UTC()}
}

// BlobsMissing answers the missing-blob check of a push: which of the
// digests the backend lacks, and, with direct transfers on and sizes
// given, a presigned upload for each of those, bound to its digest and
// size. Uploads need no name check: a blob carries no name, and the
// upload stores only the bytes its digest names (see docs/architecture.md,
// "Direct transfers").
func (s *Service) BlobsMissing(ctx context.Context, p Principal, req api.MissingRequest, direct *Direct) (api.MissingResponse, error) {
	if len(req.Sizes) != 0 && len(req.Sizes) != len(req.Digests) {
		return api.MissingResponse{}, fmt.Errorf("%w: %d sizes for %d digests; give one size per digest, or none", api.ErrInvalid, len(req.Sizes), len(req.Digests))
	}
	ds := make([]content.Digest, 0, len(req.Digests))
	sizes := make(map[content.Digest]int64, len(req.Digests))
	for i, str := range req.Digests {
		d, err := content.ParseDigest(str)
		if err != nil {
			return api.MissingResponse{}, Mark(err, api.ErrInvalid)
		}
		size := int64(-1)
		if len(req.Sizes) != 0 {
			if size = req.Sizes[i]; size < 0 {
				return api.MissingResponse{}, fmt.Errorf("%w: size %d of %s is negative", api.ErrInvalid, size, d.Short())
			}
			if direct != nil && direct.MaxBlob > 0 && size > direct.MaxBlob {
				return api.MissingResponse{}, fmt.Errorf("%w: blob %s of %d bytes is larger than the limit of %d bytes", api.ErrInvalid, d.Short(), size, direct.MaxBlob)
			}
		}
		if prev, seen := sizes[d]; seen {
			if prev != size {
				return api.MissingResponse{}, fmt.Errorf("%w: %s is given twice with different sizes", api.ErrInvalid, d.Short())
			}
			continue
		}
		sizes[d] = size
		ds = append(ds, d)
	}
	missing, err := storage.Missing(ctx, s.backend, ds)
	if err != nil {
		return api.MissingResponse{}, fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
	}
	out := api.MissingResponse{Missing: make([]string, 0, len(missing))}
	for _, d := range missing {
		out.Missing = append(out.Missing, d.String())
	}
	if direct == nil || len(req.Sizes) == 0 {
		return out, nil
	}
	out.Uploads = make([]api.SignedRequest, 0, len(missing))
	for _, d := range missing {
		sr, err := direct.Presigner.PresignPut(ctx, d, sizes[d], direct.urlTTL())
		if err != nil {
			return api.MissingResponse{}, fmt.Errorf("presign the upload of %s: %w", d.Short(), err)
		}
		out.Uploads = append(out.Uploads, SignedRequest(sr))
	}
	return out, nil
}

// GrantPull starts a pull of ref for p (kind and rng as for PlanPull).
// With direct transfers on, the artifact (a file or a directory) is read
// straight from the backend, whatever p's prefix: the retrieval is
// recorded now, with what the grant authorises (the range's length or the
// artifact's size), and the grant carries the manifest's presigned GET
// and the record's seq, which PullURLs takes. Otherwise (proxy mode) a
// principal without a prefix reads blobs by digest from the daemon
// (Blobs, recorded now), and one with a prefix reads the content route,
// which records as it serves (files only).
func (s *Service) GrantPull(ctx context.Context, p Principal, ref, kind, rng string, direct *Direct) (api.PullGrant, error) {
	plan, err := s.PlanPull(ctx, p, ref, kind, rng)
	if err != nil {
		return api.PullGrant{}, err
	}
	out := api.PullGrant{Blobs: p.Prefix == "", Range: plan.RangeString()}
	// A token limited to a prefix reads a file through the content route,
	// which records as it serves; a directory through the blob route
	// scoped to the artifact (ArtifactBlob).
	out.Scoped = p.Prefix != "" && direct == nil && KindOf(plan.Artifact.MediaType) == api.KindTree
	switch {
	case direct != nil:
		ev, err := s.reg.RetrievalEvent(ctx, p.Actor, plan.Artifact.ID,
			registry.Retrieval{Bytes: plan.Bytes(), Range: out.Range, Client: p.Client})
		if err != nil {
			return api.PullGrant{}, fmt.Errorf("append the retrieval record of %s: %w", plan.Artifact.Ref(), err)
		}
		s.notify()
		sr, err := direct.Presigner.PresignGet(ctx, plan.Artifact.ManifestDigest, direct.urlTTL())
		if err != nil {
			return api.PullGrant{}, fmt.Errorf("presign the manifest of %s: %w", plan.Artifact.Ref(), err)
		}
		out.Direct = &api.DirectPull{Manifest: SignedRequest(sr), Grant: ev.Seq}
	case out.Blobs, out.Scoped:
		if err := s.RecordRetrieval(ctx, p, plan.Artifact, plan.Bytes(), out.Range); err != nil {
			return api.PullGrant{}, err
		}
	}
	if out.Artifact, err = s.Wire(ctx, p, plan.Artifact); err != nil {
		return api.PullGrant{}, err
	}
	return out, nil
}

// GrantDirectPull is GrantPull for a caller that reads only straight from
// the backend (a client-side deep verify, which otherwise reads through
// the blob routes without a retrieval record): with direct transfers on it
// is GrantPull; without them it checks ref, kind and rng as GrantPull
// does and answers the artifact alone, recording nothing and granting
// nothing (neither Blobs nor Direct).
func (s *Service) GrantDirectPull(ctx context.Context, p Principal, ref, kind, rng string, direct *Direct) (api.PullGrant, error) {
	if direct != nil {
		return s.GrantPull(ctx, p, ref, kind, rng, direct)
	}
	plan, err := s.PlanPull(ctx, p, ref, kind, rng)
	if err != nil {
		return api.PullGrant{}, err
	}
	out := api.PullGrant{Range: plan.RangeString()}
	if out.Artifact, err = s.Wire(ctx, p, plan.Artifact); err != nil {
		return api.PullGrant{}, err
	}
	return out, nil
}

// PullURLs hands out presigned GETs of the blobs of a pull granted by
// GrantPull after its manifest, in the order the pull reads them (see
// directpages.go): a file's or a stream-layout tree's chunks that the
// grant's range needs, a per-file layout tree's file manifests each
// followed by its chunks; those from item index from on, at most
// PullURLPage of them. The grant must be the retrieval record GrantPull
// appended for this principal's actor, this artifact and this range, at
// most Direct.GrantTTL ago; so a principal gets URLs only for the blobs
// of an artifact it may read and has a retrieval record of. ref and rng
// are checked again as GrantPull checks them (a revoked name, a deleted
// artifact end the grant).
//
// The manifest is read from the backend from the nearest place this
// daemon noted at or before from (its start the first time), up to the
// end of the page, without verifying its digest (which would mean reading
// all of it for every page): the backend is the daemon's own, and the
// client verifies the manifest it reads and every blob.
func (s *Service) PullURLs(ctx context.Context, p Principal, ref, rng string, grant int64, from int, direct *Direct) (api.PullURLs, error) {
	if from < 0 {
		return api.PullURLs{}, Mark(fmt.Errorf("item index %d is negative", from), api.ErrInvalid)
	}
	plan, err := s.PlanPull(ctx, p, ref, "", rng)
	if err != nil {
		return api.PullURLs{}, err
	}
	if direct == nil {
		return api.PullURLs{}, Mark(errors.New("direct transfers are off on this daemon; pull through it"), api.ErrInvalid)
	}
	if err := s.checkGrant(ctx, p, plan, grant, direct); err != nil {
		return api.PullURLs{}, err
	}
	pg := &pager{ctx: ctx, be: s.backend, marks: &s.marks, direct: direct, md: plan.Artifact.ManifestDigest, from: from,
		first: 0, last: plan.Artifact.Size - 1, out: api.PullURLs{Chunks: []api.ChunkURL{}, Done: true}}
	if plan.Range != nil {
		pg.first, pg.last = plan.Range.Start, plan.Range.End
	}
	if err := pg.fill(); err != nil && !errors.Is(err, errPageFull) && !errors.Is(err, errRangeEnd) {
		return api.PullURLs{}, fmt.Errorf("manifest of %s: %w", plan.Artifact.Ref(), err)
	}
	return pg.out, nil
}

// checkGrant checks that event grant is the retrieval record GrantPull
// appended for p's actor and plan, and is recent enough.
func (s *Service) checkGrant(ctx context.Context, p Principal, plan PullPlan, grant int64, direct *Direct) error {
	refuse := func(why string) error {
		return Mark(fmt.Errorf("grant %d does not authorise this pull of %s: %s; start the pull again", grant, plan.Artifact.Ref(), why), api.ErrForbidden)
	}
	ev, err := s.log.Event(ctx, grant)
	if errors.Is(err, eventlog.ErrNotFound) {
		return refuse("no such event")
	}
	if err != nil {
		return fmt.Errorf("read grant %d: %w", grant, err)
	}
	if ev.Type != eventlog.TypeArtifactRetrieved || ev.Subject != plan.Artifact.ID || ev.Actor != p.Actor {
		return refuse("it is not a retrieval record of this artifact by this token")
	}
	var rec eventlog.ArtifactRetrieved
	if err := json.Unmarshal(ev.Payload, &rec); err != nil {
		return fmt.Errorf("read grant %d: %w", grant, err)
	}
	if rec.Range != plan.RangeString() {
		return refuse("it was granted for another range")
	}
	if age := s.now().Sub(ev.Time); age > direct.grantTTL() {
		return refuse(fmt.Sprintf("it was granted %s ago, more than %s", age.Round(time.Second), direct.grantTTL()))
	}
	return nil
}
