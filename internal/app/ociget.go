package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
)

// OCIManifest is a manifest /v2 serves.
type OCIManifest struct {
	Digest    string
	MediaType string
	Body      []byte
	// Artifact is the artifact version the manifest is.
	Artifact eventlog.Artifact
}

func manifestUnknown(repo, ref string) error {
	return ociErr(http.StatusNotFound, "MANIFEST_UNKNOWN", api.ErrNotFound, "repository %s has no manifest %s", repo, textClip(ref))
}

// OCIGetManifest returns the manifest that ref (a tag, a version or a
// digest) names in repo: the bytes pushed through /v2, or the manifest a
// native artifact is served as (nativeManifest). With record (a GET, not a
// HEAD), the pull appends the artifact's retrieval record first.
func (s *Service) OCIGetManifest(ctx context.Context, p Principal, repo, ref string, record bool) (OCIManifest, error) {
	if err := p.Allow(repo); err != nil {
		return OCIManifest{}, err
	}
	a, err := s.ociResolve(ctx, repo, ref)
	if err != nil {
		return OCIManifest{}, err
	}
	m, err := s.ociServe(ctx, a)
	if err != nil {
		return OCIManifest{}, err
	}
	if record {
		if err := s.RecordRetrieval(ctx, p, a, a.Size, ""); err != nil {
			return OCIManifest{}, err
		}
	}
	return m, nil
}

// ociResolve returns the live artifact ref names in repo.
func (s *Service) ociResolve(ctx context.Context, repo, ref string) (eventlog.Artifact, error) {
	if strings.Contains(ref, ":") {
		if _, err := ParseOCIDigest(ref); err != nil {
			return eventlog.Artifact{}, err
		}
		a, ok, err := s.ociResolveDigest(ctx, repo, ref)
		if err != nil {
			return a, err
		}
		if !ok {
			return a, manifestUnknown(repo, ref)
		}
		return a, nil
	}
	if registry.ValidateVersion(ref) != nil {
		return eventlog.Artifact{}, manifestUnknown(repo, ref)
	}
	a, err := s.reg.Get(ctx, repo+":"+ref)
	if errors.Is(err, registry.ErrNotFound) || err == nil && a.Deleted != nil {
		return eventlog.Artifact{}, manifestUnknown(repo, ref)
	}
	return a, err
}

// ociFind returns the newest live artifact of repo pushed as the manifest
// with OCI digest digest.
func (s *Service) ociFind(ctx context.Context, repo, digest string) (eventlog.Artifact, bool, error) {
	res, err := s.reg.List(ctx, registry.ListOptions{Name: repo, Newest: true, Limit: 1,
		Selectors: []eventlog.Selector{{Key: labelManifest, Op: eventlog.OpEquals, Value: digest}}})
	if err != nil || len(res.Artifacts) == 0 {
		return eventlog.Artifact{}, false, err
	}
	return res.Artifacts[0], true, nil
}

// ociResolveDigest returns the live artifact of repo whose manifest has
// the digest: one pushed through /v2, else a native one.
func (s *Service) ociResolveDigest(ctx context.Context, repo, digest string) (eventlog.Artifact, bool, error) {
	a, ok, err := s.ociFind(ctx, repo, digest)
	if err != nil || ok {
		return a, ok, err
	}
	return s.nativeByDigest(ctx, repo, digest)
}

// ociServe returns the manifest artifact a is served as.
func (s *Service) ociServe(ctx context.Context, a eventlog.Artifact) (OCIManifest, error) {
	stored := a.Labels[labelStored]
	if stored == "" {
		return s.nativeManifest(ctx, a)
	}
	body, err := s.ociStoredManifest(ctx, a, stored)
	if err != nil {
		return OCIManifest{}, fmt.Errorf("the OCI manifest of %s: %w", a.Ref(), err)
	}
	return OCIManifest{Digest: a.Labels[labelManifest], MediaType: a.Labels[labelMediaType], Body: body, Artifact: a}, nil
}

// ociStoredManifest reads the manifest bytes of an artifact pushed through
// /v2 from its closure (the tree its oci.stored label names).
func (s *Service) ociStoredManifest(ctx context.Context, a eventlog.Artifact, stored string) ([]byte, error) {
	md, err := content.ParseDigest(stored)
	if err != nil {
		return nil, fmt.Errorf("label %s: %w", labelStored, err)
	}
	var file content.Digest
	err = s.eachTreeFile(ctx, md, func(e content.TreeEntry) {
		if e.Path == ociManifestEntry {
			file = e.Manifest
		}
	})
	if err != nil {
		return nil, err
	}
	if file.IsZero() {
		return nil, fmt.Errorf("%w: the closure %s has no %q entry", content.ErrInvalidManifest, md, ociManifestEntry)
	}
	return s.readSmall(ctx, file, MaxOCIManifest)
}

// ociKeep names what an artifact pushed through /v2 keeps besides its
// content, for garbage collection: its closure (ociClosure).
func (s *Service) ociKeep(_ context.Context, a eventlog.Artifact) ([]content.Digest, error) {
	stored := a.Labels[labelStored]
	if stored == "" {
		return nil, nil
	}
	md, err := content.ParseDigest(stored)
	if err != nil {
		return nil, fmt.Errorf("label %s: %w", labelStored, err)
	}
	return []content.Digest{md}, nil
}

// readSmall reads the file that file manifest md describes, verified,
// refusing one over limit bytes.
func (s *Service) readSmall(ctx context.Context, md content.Digest, limit int64) ([]byte, error) {
	check := func(m content.Manifest) error {
		if m.Kind != content.KindFile || m.Size > limit {
			return fmt.Errorf("%w: %s is a %s of %d bytes, not a file of at most %d", content.ErrInvalidManifest, md, m.Kind, m.Size, limit)
		}
		return nil
	}
	f, err := transfer.OpenFile(ctx, md, transfer.FromBackend(s.backend), transfer.PullOptions{Concurrency: 1, Check: check})
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := f.WriteRange(ctx, &buf, nil); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// OCIDeleteManifest deletes the manifest ref names in repo: a tag is
// removed (the artifact stays); a digest deletes the artifact version (a
// tombstone), which legal holds, immutability and protected tags refuse
// with DENIED.
func (s *Service) OCIDeleteManifest(ctx context.Context, p Principal, repo, ref string) error {
	if err := p.Allow(repo); err != nil {
		return err
	}
	defer s.notify()
	if ociVersionRef(ref) {
		// The version the all-digit tag names (ociPutVersion): deleting
		// the tag deletes the version, as holds and retention allow.
		a, err := s.ociResolve(ctx, repo, ref)
		if err != nil {
			return err
		}
		_, err = s.reg.Delete(ctx, p.Actor, a.ID, "DELETE /v2/"+repo+"/manifests/"+ref)
		return err
	}
	if !strings.Contains(ref, ":") {
		if err := ValidateOCITag(ref); err != nil {
			return err
		}
		err := s.reg.Untag(ctx, p.Actor, repo, ref)
		if errors.Is(err, registry.ErrNotFound) {
			return manifestUnknown(repo, ref)
		}
		return ociTagErr(err)
	}
	if _, err := ParseOCIDigest(ref); err != nil {
		return err
	}
	// Two pushes of one manifest racing each other may have registered it
	// twice: delete every live version it is.
	for n := 0; ; n++ {
		a, ok, err := s.ociResolveDigest(ctx, repo, ref)
		if err != nil {
			return err
		}
		if !ok {
			if n == 0 {
				return manifestUnknown(repo, ref)
			}
			return nil
		}
		if _, err := s.reg.Delete(ctx, p.Actor, a.ID, "DELETE /v2/"+repo+"/manifests/"+ref); err != nil {
			return err
		}
	}
}

// OCITags returns the tags of repo in lexical order after last (""
// for the first page), at most n of them (n < 0: all), and whether more
// follow. The versions pushed under an all-digit tag are among them.
func (s *Service) OCITags(ctx context.Context, p Principal, repo string, n int, last string) ([]string, bool, error) {
	if err := p.Allow(repo); err != nil {
		return nil, false, err
	}
	ts, err := s.reg.Tags(ctx, repo)
	if err != nil {
		return nil, false, err
	}
	tags := make([]string, 0, len(ts))
	for _, t := range ts {
		if t.Tag > last {
			tags = append(tags, t.Tag)
		}
	}
	err = s.eachListed(ctx, registry.ListOptions{Name: repo, Selectors: []eventlog.Selector{{Key: labelVersionTag, Op: eventlog.OpExists}}},
		func(a eventlog.Artifact) error {
			if a.Version > last {
				tags = append(tags, a.Version)
			}
			return nil
		})
	if err != nil {
		return nil, false, err
	}
	slices.Sort(tags)
	if n >= 0 && len(tags) > n {
		return tags[:n], true, nil
	}
	return tags, false, nil
}

// OCICatalogMax is the most names a page of the catalog holds.
const OCICatalogMax = registry.MaxCompletions

// OCICatalog returns a page of the repositories p may read: the names of
// live artifacts under p.Prefix that are valid OCI repository names (an
// artstore name such as "_x" is not, and no /v2 request could reach it),
// in byte order after last ("" for the first page), at most n of them (0
// to OCICatalogMax), and whether more follow.
func (s *Service) OCICatalog(ctx context.Context, p Principal, n int, last string) ([]string, bool, error) {
	if n < 0 || n > OCICatalogMax {
		return nil, false, Mark(fmt.Errorf("catalog: page size %d is not between 0 and %d", n, OCICatalogMax), api.ErrInvalid)
	}
	out := []string{}
	after := last
	for len(out) <= n {
		batch := min(n+1-len(out), OCICatalogMax)
		names, err := s.reg.Catalog(ctx, p.Prefix, after, batch)
		if err != nil {
			return nil, false, err
		}
		for _, name := range names {
			if ValidateOCIName(name) == nil {
				out = append(out, name)
			}
		}
		if len(names) < batch {
			break
		}
		after = names[len(names)-1]
	}
	if len(out) > n {
		return out[:n], true, nil
	}
	return out, false, nil
}

// ociIndexDoc is an index as /v2 writes it (the referrers list): its
// manifests are [] when empty, never absent.
type ociIndexDoc struct {
	SchemaVersion int             `json:"schemaVersion"`
	MediaType     string          `json:"mediaType"`
	Manifests     []ociDescriptor `json:"manifests"`
}

// OCIReferrers returns the referrers list of subject d in repo: an index
// of the live manifests whose subject is d, only those of artifactType
// when it is not "".
func (s *Service) OCIReferrers(ctx context.Context, p Principal, repo string, d OCIDigest, artifactType string) ([]byte, error) {
	if err := p.Allow(repo); err != nil {
		return nil, err
	}
	out := ociIndexDoc{SchemaVersion: 2, MediaType: OCIIndexType, Manifests: []ociDescriptor{}}
	opts := registry.ListOptions{Name: repo,
		Selectors: []eventlog.Selector{{Key: labelSubject, Op: eventlog.OpEquals, Value: d.String()}}}
	if artifactType != "" {
		opts.Selectors = append(opts.Selectors, eventlog.Selector{Key: labelArtifactType, Op: eventlog.OpEquals, Value: artifactType})
	}
	err := s.eachListed(ctx, opts, func(a eventlog.Artifact) error {
		desc, err := s.referrer(ctx, a)
		if err != nil {
			return err
		}
		out.Manifests = append(out.Manifests, desc)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// eachListed calls fn for every live artifact opts lists, in order,
// reading the listing 1,000 at a time.
func (s *Service) eachListed(ctx context.Context, opts registry.ListOptions, fn func(eventlog.Artifact) error) error {
	opts.Limit = 1000
	for {
		res, err := s.reg.List(ctx, opts)
		if err != nil {
			return err
		}
		for _, a := range res.Artifacts {
			if err := fn(a); err != nil {
				return err
			}
		}
		if res.Next == "" {
			return nil
		}
		opts.Cursor = res.Next
	}
}

// referrer is the descriptor of a referrer in a referrers list, with the
// annotations of its manifest.
func (s *Service) referrer(ctx context.Context, a eventlog.Artifact) (ociDescriptor, error) {
	size, _ := strconv.ParseInt(a.Labels[labelSize], 10, 64)
	desc := ociDescriptor{MediaType: a.Labels[labelMediaType], Digest: a.Labels[labelManifest], Size: size,
		ArtifactType: a.Labels[labelArtifactType]}
	m, err := s.ociServe(ctx, a)
	if err != nil {
		return desc, err
	}
	var doc struct {
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(m.Body, &doc); err != nil {
		return desc, fmt.Errorf("the OCI manifest of %s: %w", a.Ref(), err)
	}
	desc.Annotations = doc.Annotations
	return desc, nil
}
