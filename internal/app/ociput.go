package app

import (
	"bytes"
	"context"
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

// OCIPut is what a manifest push answers.
type OCIPut struct {
	// Digest is the manifest's digest.
	Digest string
	// Subject is the digest of its subject, "" without one.
	Subject string
	// Tags are the tags now pointing at it.
	Tags []string
	// Artifact is the artifact version it is.
	Artifact eventlog.Artifact
}

// ValidateOCITag checks a tag against OCI's grammar
// ([a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}) and artstore's (which also refuses a
// leading '_' and all-digit tags, the names of versions); a refusal is
// TAG_INVALID. A manifest push or delete takes an all-digit reference as
// the version it names (ociVersionRef) before it gets here.
func ValidateOCITag(tag string) error {
	if err := registry.ValidateTag(tag); err != nil {
		return ociErr(http.StatusBadRequest, "TAG_INVALID", api.ErrInvalid, "%v", err)
	}
	return nil
}

// ociPutPlan is a validated manifest push.
type ociPutPlan struct {
	repo   string
	digest OCIDigest
	doc    *ociDoc
	body   []byte
	tags   []string
	// version is the all-digit tag the push names, if any: the version
	// the manifest is registered as (see ociPutVersion).
	version string
	// layers are the distributable layers in order (repeats removed), with
	// how their bytes are stored; keep is every stored blob the manifest
	// references.
	layers []ociLayer
	keep   []ociKept
}

type ociKept struct {
	digest string
	blob   OCIBlob
}

type ociLayer struct {
	desc *ociDescriptor
	blob OCIBlob
}

// OCIPutManifest stores a manifest pushed to repo under ref (a tag, or
// the manifest's digest, with tags more tags to point at it) and registers
// it as an artifact version (docs/oci.md): its bytes are kept as pushed;
// every blob it names (config, layers but non-distributable ones, child
// manifests) must be in repo (MANIFEST_BLOB_UNKNOWN otherwise). A
// manifest repo already holds is not registered again: its tags move.
func (s *Service) OCIPutManifest(ctx context.Context, p Principal, repo, ref, contentType string, body []byte, tags []string) (OCIPut, error) {
	if err := p.Allow(repo); err != nil {
		return OCIPut{}, err
	}
	plan, err := s.planOCIPut(ctx, repo, ref, contentType, body, tags)
	if err != nil {
		return OCIPut{}, err
	}
	out := OCIPut{Digest: plan.digest.String(), Tags: plan.tags}
	if plan.doc.Subject != nil {
		out.Subject = plan.doc.Subject.Digest
	}
	if plan.version != "" {
		out.Tags = append([]string{plan.version}, plan.tags...)
		out.Artifact, err = s.ociPutVersion(ctx, p, plan)
		return out, err
	}
	a, found, err := s.ociFind(ctx, repo, plan.digest.String())
	if err != nil {
		return OCIPut{}, err
	}
	if found {
		for _, t := range plan.tags {
			if a, err = s.reg.Tag(ctx, p.Actor, a.ID, t); err != nil {
				return OCIPut{}, ociTagErr(err)
			}
			s.notify()
		}
		out.Artifact = a
		return out, nil
	}
	if out.Artifact, err = s.registerOCI(ctx, p, plan); err != nil {
		return OCIPut{}, err
	}
	return out, nil
}

// ociPutVersion registers the manifest as version plan.version of the
// repository: an all-digit OCI tag, such as a CI build number, names that
// version (docs/oci.md). Versions never change, so a push of the manifest
// the version already is (a retried push, or two racing ones) only moves
// the push's other tags to it, and a push of another manifest is DENIED.
func (s *Service) ociPutVersion(ctx context.Context, p Principal, plan *ociPutPlan) (eventlog.Artifact, error) {
	a, err := s.ociResolve(ctx, plan.repo, plan.version)
	var oe *OCIError
	if errors.As(err, &oe) && oe.Code == "MANIFEST_UNKNOWN" {
		a, err = s.registerOCI(ctx, p, plan)
		if err == nil {
			return a, nil
		}
		// A push of the same manifest may have registered the version
		// meanwhile; any other refusal (the version was deleted, a tag
		// is protected) stands.
		again, againErr := s.ociResolve(ctx, plan.repo, plan.version)
		if againErr != nil {
			return eventlog.Artifact{}, err
		}
		if same, sameErr := s.ociIsManifest(ctx, again, plan.digest); sameErr != nil || !same {
			return eventlog.Artifact{}, err
		}
		a, err = again, nil
	}
	if err != nil {
		return eventlog.Artifact{}, err
	}
	if same, err := s.ociIsManifest(ctx, a, plan.digest); err != nil {
		return eventlog.Artifact{}, err
	} else if !same {
		return eventlog.Artifact{}, ociErr(http.StatusForbidden, "DENIED", api.ErrForbidden,
			"%s is a version of another manifest, and versions never change: push under a new number, or under a tag that is not all digits to move it", a.Ref())
	}
	for _, t := range plan.tags {
		if a, err = s.reg.Tag(ctx, p.Actor, a.ID, t); err != nil {
			return eventlog.Artifact{}, ociTagErr(err)
		}
		s.notify()
	}
	return a, nil
}

// ociIsManifest reports whether artifact a is served as the manifest d.
func (s *Service) ociIsManifest(ctx context.Context, a eventlog.Artifact, d OCIDigest) (bool, error) {
	if m := a.Labels[labelManifest]; m != "" {
		return m == d.String(), nil
	}
	m, err := s.ociServe(ctx, a)
	return m.Digest == d.String(), err
}

// ociVersionRef reports whether an OCI tag is all digits: such a tag
// names the version of that number (a version's number is never a tag).
func ociVersionRef(ref string) bool {
	return ref != "" && strings.Trim(ref, "0123456789") == ""
}

// ociTagErr turns a refused tag move (a protected tag) into DENIED.
func ociTagErr(err error) error {
	if errors.Is(err, registry.ErrConflict) {
		return ociErr(http.StatusForbidden, "DENIED", api.ErrForbidden, "%v", err)
	}
	return err
}

// planOCIPut checks a manifest push before anything is stored.
func (s *Service) planOCIPut(ctx context.Context, repo, ref, contentType string, body []byte, tags []string) (*ociPutPlan, error) {
	if len(body) > MaxOCIManifest {
		return nil, ociErr(http.StatusRequestEntityTooLarge, "SIZE_INVALID", api.ErrInvalid, "the manifest is %d bytes; at most %d are taken", len(body), MaxOCIManifest)
	}
	plan := &ociPutPlan{repo: repo, body: body}
	if strings.Contains(ref, ":") {
		d, err := ParseOCIDigest(ref)
		if err != nil {
			return nil, err
		}
		if !d.Matches(body) {
			return nil, ociErr(http.StatusBadRequest, "DIGEST_INVALID", api.ErrInvalid, "the manifest's bytes do not have digest %s", d)
		}
		plan.digest = d
	} else {
		plan.digest = ociDigestOf("sha256", body)
		tags = append([]string{ref}, tags...)
	}
	for _, t := range tags {
		if ociVersionRef(t) {
			if err := registry.ValidateVersion(t); err != nil {
				return nil, ociErr(http.StatusBadRequest, "TAG_INVALID", api.ErrInvalid, "%v", err)
			}
			if plan.version != "" && plan.version != t {
				return nil, ociErr(http.StatusBadRequest, "TAG_INVALID", api.ErrInvalid,
					"tags %s and %s are all digits, and each would name the manifest's version: push with one of them", plan.version, t)
			}
			plan.version = t
			continue
		}
		if err := ValidateOCITag(t); err != nil {
			return nil, err
		}
		if !slices.Contains(plan.tags, t) {
			plan.tags = append(plan.tags, t)
		}
	}
	doc, err := parseOCIManifest(body, contentType)
	if err != nil {
		return nil, err
	}
	plan.doc = doc
	if err := s.resolveOCIRefs(ctx, plan); err != nil {
		return nil, err
	}
	return plan, nil
}

func manifestBlobUnknown(repo, digest string) error {
	return ociErr(http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN", api.ErrInvalid, "repository %s has no blob %s that the manifest references: push it first", repo, digest)
}

// resolveOCIRefs finds every blob and child manifest the manifest names
// in the repository.
func (s *Service) resolveOCIRefs(ctx context.Context, plan *ociPutPlan) error {
	doc, repo := plan.doc, plan.repo
	for _, desc := range doc.Manifests {
		if _, found, err := s.ociResolveDigest(ctx, repo, desc.Digest); err != nil {
			return err
		} else if !found {
			return manifestBlobUnknown(repo, desc.Digest)
		}
	}
	if doc.index() {
		return nil
	}
	descs := []*ociDescriptor{doc.Config}
	for i := range doc.Layers {
		descs = append(descs, &doc.Layers[i])
	}
	kept, inLayers := map[string]bool{}, map[string]bool{}
	for _, desc := range descs {
		isLayer := desc != doc.Config
		if isLayer && (nondistributable(desc.MediaType) || inLayers[desc.Digest]) {
			continue
		}
		d, _ := ParseOCIDigest(desc.Digest)
		b, ok, err := s.links.Lookup(ctx, repo, desc.Digest)
		if err == nil && !ok {
			b, ok, err = s.nativeBlob(ctx, repo, d)
		}
		if err != nil {
			return err
		}
		if !ok && desc.Digest == ociEmptyDigest {
			// "{}", which a repository of native artifacts serves without
			// holding it (OCIBlobStat): a client that saw it there does not
			// upload it.
			b, ok, err = s.storeEmptyJSON(ctx, repo)
			if err != nil {
				return err
			}
		}
		if !ok {
			return manifestBlobUnknown(repo, desc.Digest)
		}
		if b.Size != desc.Size {
			return manifestInvalid("descriptor %s says %d bytes; the blob has %d", desc.Digest, desc.Size, b.Size)
		}
		if !kept[desc.Digest] {
			kept[desc.Digest] = true
			plan.keep = append(plan.keep, ociKept{digest: desc.Digest, blob: b})
		}
		if isLayer {
			inLayers[desc.Digest] = true
			plan.layers = append(plan.layers, ociLayer{desc: desc, blob: b})
		}
	}
	return nil
}

// storeEmptyJSON stores the empty JSON blob when repo serves it unlinked
// (it holds a native artifact); ok is false when it does not.
func (s *Service) storeEmptyJSON(ctx context.Context, repo string) (OCIBlob, bool, error) {
	has, err := s.hasNative(ctx, repo)
	if err != nil || !has {
		return OCIBlob{}, false, err
	}
	res, err := transfer.Push(ctx, bytes.NewReader(ociEmptyJSON), transfer.FromBackend(s.backend), transfer.PushOptions{})
	if err != nil {
		return OCIBlob{}, false, fmt.Errorf("store the empty JSON blob: %w", err)
	}
	return OCIBlob{Size: res.Size, Content: res.ContentDigest, Manifest: res.ManifestDigest}, true, nil
}

// registerOCI stores the manifest's bytes and registers the artifact.
func (s *Service) registerOCI(ctx context.Context, p Principal, plan *ociPutPlan) (eventlog.Artifact, error) {
	res, err := transfer.Push(ctx, bytes.NewReader(plan.body), transfer.FromBackend(s.backend), transfer.PushOptions{ExpectedSize: int64(len(plan.body))})
	if err != nil {
		return eventlog.Artifact{}, fmt.Errorf("store manifest %s: %w", plan.digest, err)
	}
	stored := OCIBlob{Size: res.Size, Content: res.ContentDigest, Manifest: res.ManifestDigest}
	doc := plan.doc
	closure, err := s.ociClosure(ctx, stored, plan.keep)
	if err != nil {
		return eventlog.Artifact{}, err
	}
	labels := map[string]string{
		labelManifest:  plan.digest.String(),
		labelMediaType: doc.MediaType,
		labelStored:    closure.Manifest.String(),
		labelSize:      strconv.Itoa(len(plan.body)),
	}
	if at := doc.artifactType(); at != "" {
		labels[labelArtifactType] = at
	}
	if plan.version != "" {
		labels[labelVersionTag] = plan.version
	}
	rr := registry.RegisterRequest{
		Name: plan.repo, Version: plan.version, Labels: labels, Tags: plan.tags, NoLatest: true, AllowInput: p.Allow, Reserved: true,
		Producer: eventlog.Producer{Tool: "oci", Command: "PUT /v2/" + plan.repo + "/manifests/" + plan.digest.String()},
	}
	if doc.Subject != nil {
		labels[labelSubject] = doc.Subject.Digest
		if sa, found, err := s.ociResolveDigest(ctx, plan.repo, doc.Subject.Digest); err != nil {
			return eventlog.Artifact{}, err
		} else if found {
			rr.Inputs = append(rr.Inputs, registry.Input{Ref: sa.ID, Role: "oci.subject"})
		}
	}
	c, err := s.ociContent(ctx, plan, stored)
	if err != nil {
		return eventlog.Artifact{}, err
	}
	rr.ContentDigest, rr.Size, rr.ManifestDigest, rr.MediaType = c.Content, c.Size, c.Manifest, c.mediaType
	rr.Keep = []registry.KeptBlob{{Manifest: closure.Manifest, Content: closure.Content, Size: closure.Size}}
	a, err := s.reg.Register(ctx, p.Actor, rr)
	if errors.Is(err, registry.ErrMissingBlobs) {
		return eventlog.Artifact{}, ociErr(http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN", api.ErrInvalid, "a blob the manifest references is no longer stored (collected meanwhile): push it again: %v", err)
	}
	if err != nil {
		return eventlog.Artifact{}, ociTagErr(err)
	}
	s.notify()
	return a, nil
}

// ociArtifactContent is what an OCI manifest's artifact holds.
type ociArtifactContent struct {
	OCIBlob
	mediaType string
}

// ociContent chooses the artifact's content (docs/oci.md): the one layer
// of a single-layer image manifest; a directory of the layers of a
// manifest with several; otherwise (an index, no layers) the manifest's
// own bytes.
func (s *Service) ociContent(ctx context.Context, plan *ociPutPlan, stored OCIBlob) (ociArtifactContent, error) {
	switch {
	case len(plan.layers) == 1:
		l := plan.layers[0]
		return ociArtifactContent{OCIBlob: l.blob, mediaType: l.desc.MediaType}, nil
	case len(plan.layers) > 1:
		return s.ociLayerTree(ctx, plan.layers)
	}
	return ociArtifactContent{OCIBlob: stored, mediaType: plan.doc.MediaType}, nil
}

// ociLayerTree stores a tree manifest with one file per layer, named by its
// title annotation, or blobs/<alg>/<hex> when the titles do not make a
// valid tree (missing, unsafe, repeated or one below another).
func (s *Service) ociLayerTree(ctx context.Context, layers []ociLayer) (ociArtifactContent, error) {
	build := func(titles bool) (content.Manifest, error) {
		entries := make([]content.TreeEntry, 0, len(layers))
		for _, l := range layers {
			p := "blobs/" + strings.Replace(l.desc.Digest, ":", "/", 1)
			if titles {
				p = l.desc.Annotations[ociTitleAnnotation]
			}
			entries = append(entries, content.TreeEntry{Path: p, Type: content.EntryFile, Mode: 0o644,
				Size: l.blob.Size, Digest: l.blob.Content, Manifest: l.blob.Manifest})
		}
		return content.NewTreeManifest(entries, api.TreeMediaType)
	}
	m, err := build(true)
	if err != nil {
		if m, err = build(false); err != nil {
			return ociArtifactContent{}, fmt.Errorf("the layers as a directory: %w", err)
		}
	}
	b, err := s.putTree(ctx, m)
	return ociArtifactContent{OCIBlob: b, mediaType: api.TreeMediaType}, err
}

// ociManifestEntry is the path of the manifest's own bytes in an OCI
// closure.
const ociManifestEntry = "manifest"

// ociClosure stores the tree manifest of everything an OCI manifest
// keeps: its own bytes ("manifest") and every blob it references that the
// repository holds ("blobs/<alg>/<hex>"). The artifact's oci.stored label
// names it and garbage collection keeps it (Service.ociKeep), so a live
// manifest's config and layers stay whatever the artifact's content is.
func (s *Service) ociClosure(ctx context.Context, stored OCIBlob, keep []ociKept) (OCIBlob, error) {
	entries := []content.TreeEntry{{Path: ociManifestEntry, Type: content.EntryFile, Mode: 0o644,
		Size: stored.Size, Digest: stored.Content, Manifest: stored.Manifest}}
	for _, k := range keep {
		entries = append(entries, content.TreeEntry{Path: "blobs/" + strings.Replace(k.digest, ":", "/", 1), Type: content.EntryFile, Mode: 0o644,
			Size: k.blob.Size, Digest: k.blob.Content, Manifest: k.blob.Manifest})
	}
	m, err := content.NewTreeManifest(entries, "")
	if err != nil {
		return OCIBlob{}, fmt.Errorf("the blobs the manifest keeps: %w", err)
	}
	return s.putTree(ctx, m)
}

// putTree stores tree manifest m.
func (s *Service) putTree(ctx context.Context, m content.Manifest) (OCIBlob, error) {
	enc, err := m.Encode()
	if err != nil {
		return OCIBlob{}, err
	}
	md := content.FromBytes(enc)
	if _, err := s.backend.Put(ctx, md, int64(len(enc)), bytes.NewReader(enc)); err != nil {
		return OCIBlob{}, fmt.Errorf("store a tree manifest: %w", err)
	}
	return OCIBlob{Size: m.Size, Content: m.Digest, Manifest: md}, nil
}
