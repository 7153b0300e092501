package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sync"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/pkg/api"
)

// A native artifact (pushed with artstore push) is served through /v2 as
// an OCI image manifest built from its registration (and, for a directory,
// its tree manifest) alone, so the same artifact always gives the same
// bytes and digest, across calls, daemons and restarts (docs/oci.md).

// ociManifestDoc is the image manifest a native artifact is served as:
// field order fixed, layers [] when empty, never absent.
type ociManifestDoc struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        ociDescriptor     `json:"config"`
	Layers        []ociDescriptor   `json:"layers"`
	Annotations   map[string]string `json:"annotations"`
}

// nativeTitle is the file name an OCI client writes for a native file
// artifact (its layer's org.opencontainers.image.title): the name push
// recorded (api.LabelFileName), else the last segment of the artifact's
// name.
func nativeTitle(a eventlog.Artifact) string {
	if t := a.Labels[api.LabelFileName]; t != "" && content.ValidatePath(t) == nil && path.Base(t) == t {
		return t
	}
	return path.Base(a.Name)
}

func orOctetStream(mediaType string) string {
	if mediaType == "" {
		return "application/octet-stream"
	}
	return mediaType
}

// nativeManifest builds the manifest of native artifact a: config the
// empty descriptor, artifactType the artifact's media type, one layer per
// file (the file's content digest, size and a title: the file name, or
// its path in a directory artifact), and the artifact's creation time as
// an annotation, so two versions with the same bytes differ.
func (s *Service) nativeManifest(ctx context.Context, a eventlog.Artifact) (OCIManifest, error) {
	doc := ociManifestDoc{
		SchemaVersion: 2, MediaType: OCIManifestType, ArtifactType: orOctetStream(a.MediaType),
		Config: ociDescriptor{MediaType: ociEmptyType, Digest: ociEmptyDigest, Size: 2, Data: ociEmptyJSON},
		Layers: []ociDescriptor{},
		Annotations: map[string]string{
			ociCreatedAnnotaton:      a.Created.UTC().Format(time.RFC3339Nano),
			"org.artstore.reference": a.Ref(),
		},
	}
	if KindOf(a.MediaType) == api.KindTree {
		err := s.eachTreeFile(ctx, a.ManifestDigest, func(e content.TreeEntry) {
			doc.Layers = append(doc.Layers, ociDescriptor{MediaType: "application/octet-stream", Digest: e.Digest.String(), Size: e.Size,
				Annotations: map[string]string{ociTitleAnnotation: e.Path}})
			b := OCIBlob{Size: e.Size, Content: e.Digest, Manifest: e.Manifest}
			if e.Manifest.IsZero() {
				// A stream-layout tree: the file is a section of its stream.
				b = OCIBlob{Size: e.Size, Content: e.Digest, Manifest: a.ManifestDigest, InStream: true, Offset: e.Offset}
			}
			s.native.putBlob(a.Name, e.Digest.String(), b)
		})
		if err != nil {
			return OCIManifest{}, fmt.Errorf("the tree of %s: %w", a.Ref(), err)
		}
	} else {
		doc.Layers = append(doc.Layers, ociDescriptor{MediaType: orOctetStream(a.MediaType), Digest: a.ContentDigest.String(), Size: a.Size,
			Annotations: map[string]string{ociTitleAnnotation: nativeTitle(a)}})
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return OCIManifest{}, err
	}
	d := ociDigestOf("sha256", body).String()
	s.native.putManifest(a.Name, d, a.ID)
	return OCIManifest{Digest: d, MediaType: OCIManifestType, Body: body, Artifact: a}, nil
}

// eachTreeFile calls fn with every file entry of tree manifest md.
func (s *Service) eachTreeFile(ctx context.Context, md content.Digest, fn func(content.TreeEntry)) error {
	rc, err := s.backend.Get(ctx, md, nil)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = content.ScanManifestBlob(rc, md, content.ManifestVisitor{
		Entry: func(_ int, e content.TreeEntry) error {
			if e.Type == content.EntryFile {
				fn(e)
			}
			return nil
		},
	})
	return err
}

// maxNativeScan bounds how many native artifacts of a repository a lookup
// by digest builds manifests of (newest first) when its cache misses.
const maxNativeScan = 1000

// eachNative calls fn with the live native artifacts of repo, newest
// first, at most maxNativeScan of them, until fn returns true.
func (s *Service) eachNative(ctx context.Context, repo string, fn func(eventlog.Artifact) (bool, error)) error {
	opts := registry.ListOptions{Name: repo, Newest: true, Limit: 200,
		Selectors: []eventlog.Selector{{Key: labelManifest, Op: eventlog.OpNotExists}}}
	for seen := 0; seen < maxNativeScan; {
		res, err := s.reg.List(ctx, opts)
		if err != nil {
			return err
		}
		for _, a := range res.Artifacts {
			seen++
			if done, err := fn(a); err != nil || done {
				return err
			}
		}
		if res.Next == "" {
			return nil
		}
		opts.Cursor = res.Next
	}
	return nil
}

// hasNative reports whether repo holds a live native artifact.
func (s *Service) hasNative(ctx context.Context, repo string) (bool, error) {
	res, err := s.reg.List(ctx, registry.ListOptions{Name: repo, Limit: 1,
		Selectors: []eventlog.Selector{{Key: labelManifest, Op: eventlog.OpNotExists}}})
	return len(res.Artifacts) > 0, err
}

// nativeByDigest returns the live native artifact of repo served as the
// manifest with the digest.
func (s *Service) nativeByDigest(ctx context.Context, repo, digest string) (eventlog.Artifact, bool, error) {
	if id, ok := s.native.manifest(repo, digest); ok {
		a, err := s.reg.Get(ctx, id)
		switch {
		case err == nil && a.Deleted == nil && a.Name == repo:
			return a, true, nil
		case err != nil && !errors.Is(err, registry.ErrNotFound):
			return a, false, err
		}
	}
	var found eventlog.Artifact
	err := s.eachNative(ctx, repo, func(a eventlog.Artifact) (bool, error) {
		m, err := s.nativeManifest(ctx, a)
		if err != nil {
			return false, err
		}
		if m.Digest == digest {
			found = a
			return true, nil
		}
		return false, nil
	})
	return found, found.ID != "", err
}

// nativeBlob returns blob d of a native artifact of repo: the content of
// a file artifact, or a file of a directory artifact.
func (s *Service) nativeBlob(ctx context.Context, repo string, d OCIDigest) (OCIBlob, bool, error) {
	cd, ok := d.Content()
	if !ok {
		return OCIBlob{}, false, nil
	}
	if b, ok := s.native.blob(repo, d.String()); ok {
		return b, true, nil
	}
	a, err := s.reg.Get(ctx, repo+"@"+cd.String())
	switch {
	case err == nil && KindOf(a.MediaType) == api.KindFile:
		// Cached as a tree's files are: what the next GET of the blob reads
		// first (the bytes are checked to be stored on every request).
		b := OCIBlob{Size: a.Size, Content: a.ContentDigest, Manifest: a.ManifestDigest}
		s.native.putBlob(repo, d.String(), b)
		return b, true, nil
	case err != nil && !errors.Is(err, registry.ErrNotFound):
		return OCIBlob{}, false, err
	}
	// A file of a directory artifact: build the manifests of the trees,
	// which fills the cache.
	err = s.eachNative(ctx, repo, func(a eventlog.Artifact) (bool, error) {
		if KindOf(a.MediaType) != api.KindTree {
			return false, nil
		}
		if _, err := s.nativeManifest(ctx, a); err != nil {
			return false, err
		}
		_, ok := s.native.blob(repo, d.String())
		return ok, nil
	})
	if err != nil {
		return OCIBlob{}, false, err
	}
	b, ok := s.native.blob(repo, d.String())
	return b, ok, nil
}

// maxNativeCache bounds each map of the native cache; a full map is
// emptied (everything in it can be rebuilt).
const maxNativeCache = 100000

// nativeCache remembers which native artifact a served manifest digest
// names and how the files of directory artifacts are stored, so lookups by
// digest rarely rebuild manifests. Everything in it is derived.
type nativeCache struct {
	mu        sync.Mutex
	manifests map[string]string  // repo + " " + digest -> artifact ID
	blobs     map[string]OCIBlob // repo + " " + digest -> file
}

func (c *nativeCache) manifest(repo, digest string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.manifests[repo+" "+digest]
	return id, ok
}

func (c *nativeCache) putManifest(repo, digest, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.manifests == nil || len(c.manifests) >= maxNativeCache {
		c.manifests = map[string]string{}
	}
	c.manifests[repo+" "+digest] = id
}

func (c *nativeCache) blob(repo, digest string) (OCIBlob, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.blobs[repo+" "+digest]
	return b, ok
}

func (c *nativeCache) putBlob(repo, digest string, b OCIBlob) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.blobs == nil || len(c.blobs) >= maxNativeCache {
		c.blobs = map[string]OCIBlob{}
	}
	c.blobs[repo+" "+digest] = b
}
