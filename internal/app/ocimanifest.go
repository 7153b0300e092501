package app

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/pkg/api"
)

// OCI media types artstore's /v2 knows.
const (
	OCIManifestType     = "application/vnd.oci.image.manifest.v1+json"
	OCIIndexType        = "application/vnd.oci.image.index.v1+json"
	DockerManifestType  = "application/vnd.docker.distribution.manifest.v2+json"
	DockerListType      = "application/vnd.docker.distribution.manifest.list.v2+json"
	ociEmptyType        = "application/vnd.oci.empty.v1+json"
	ociTitleAnnotation  = "org.opencontainers.image.title"
	ociCreatedAnnotaton = "org.opencontainers.image.created"
)

// MaxOCIManifest is the largest manifest /v2 takes (the spec's suggested
// minimum a registry accepts); a larger one is 413.
const MaxOCIManifest = 4 << 20

// The labels an artifact pushed as an OCI manifest carries (under
// registry.ReservedLabelPrefix, so only the OCI use cases set them).
const (
	// labelManifest is the manifest's OCI digest.
	labelManifest = "oci.manifest"
	// labelMediaType is the manifest's media type.
	labelMediaType = "oci.media_type"
	// labelArtifactType is its artifactType (or, for an image manifest
	// without one, its config's media type, as the referrers API reports).
	labelArtifactType = "oci.artifact_type"
	// labelSubject is the digest of its subject.
	labelSubject = "oci.subject"
	// labelStored is the artstore file manifest of the manifest's bytes.
	labelStored = "oci.stored"
	// labelSize is the manifest's size in bytes.
	labelSize = "oci.size"
	// labelVersionTag is the all-digit tag a /v2 push named, which is the
	// artifact's version (ociPutVersion): the tags list shows it.
	labelVersionTag = "oci.tag"
)

// ociDescriptor is an OCI content descriptor, as far as artstore reads it.
type ociDescriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	URLs         []string          `json:"urls,omitempty"`
	Data         []byte            `json:"data,omitempty"`
}

// ociDoc is an image manifest or an index, as far as artstore reads it;
// the bytes a client pushed are what is stored and served, never this.
type ociDoc struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType,omitempty"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        *ociDescriptor    `json:"config,omitempty"`
	Layers        []ociDescriptor   `json:"layers,omitempty"`
	Manifests     []ociDescriptor   `json:"manifests,omitempty"`
	Subject       *ociDescriptor    `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// index reports whether the document is an index (a list of manifests).
func (d *ociDoc) index() bool {
	return d.MediaType == OCIIndexType || d.MediaType == DockerListType
}

// artifactType is what the referrers API reports for the manifest.
func (d *ociDoc) artifactType() string {
	if d.ArtifactType != "" || d.index() || d.Config == nil {
		return d.ArtifactType
	}
	return d.Config.MediaType
}

func manifestInvalid(format string, args ...any) error {
	return ociErr(http.StatusBadRequest, "MANIFEST_INVALID", api.ErrInvalid, format, args...)
}

// parseOCIManifest parses a pushed manifest: JSON of schema version 2 whose
// media type (its mediaType field, else the request's Content-Type) is an
// OCI or Docker image manifest or index, with well-formed descriptors.
func parseOCIManifest(body []byte, contentType string) (*ociDoc, error) {
	var d ociDoc
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&d); err != nil {
		return nil, manifestInvalid("the manifest is not valid JSON: %v", err)
	}
	if dec.More() {
		return nil, manifestInvalid("the manifest has data after its JSON object")
	}
	if d.SchemaVersion != 2 {
		return nil, manifestInvalid("schemaVersion %d; want 2", d.SchemaVersion)
	}
	ct, _, _ := strings.Cut(contentType, ";")
	ct = strings.TrimSpace(ct)
	switch {
	case d.MediaType == "" && ct == "":
		return nil, manifestInvalid("the manifest names no media type (mediaType field or Content-Type header)")
	case d.MediaType == "":
		d.MediaType = ct
	case ct != "" && ct != d.MediaType:
		return nil, manifestInvalid("Content-Type %q differs from the manifest's mediaType %q", ct, d.MediaType)
	}
	switch d.MediaType {
	case OCIManifestType, DockerManifestType:
		if d.Config == nil {
			return nil, manifestInvalid("an image manifest needs a config descriptor")
		}
		if d.Manifests != nil {
			return nil, manifestInvalid("an image manifest has no manifests field")
		}
	case OCIIndexType, DockerListType:
		if d.Config != nil || d.Layers != nil {
			return nil, manifestInvalid("an index has no config or layers")
		}
	default:
		return nil, manifestInvalid("media type %q is not an OCI or Docker image manifest or index", textClip(d.MediaType))
	}
	for _, desc := range d.descriptors() {
		if err := desc.check(); err != nil {
			return nil, err
		}
	}
	if d.Subject != nil {
		if err := d.Subject.check(); err != nil {
			return nil, err
		}
	}
	if !labelValueOK(d.MediaType) || !labelValueOK(d.artifactType()) {
		return nil, manifestInvalid("media and artifact types must be printable and at most %d bytes", registry.MaxLabelValueLen)
	}
	return &d, nil
}

func labelValueOK(v string) bool { return registry.ValidateLabel("k", v) == nil }

func textClip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// descriptors returns the config, layers and manifests the document
// references (not its subject).
func (d *ociDoc) descriptors() []*ociDescriptor {
	var out []*ociDescriptor
	if d.Config != nil {
		out = append(out, d.Config)
	}
	for i := range d.Layers {
		out = append(out, &d.Layers[i])
	}
	for i := range d.Manifests {
		out = append(out, &d.Manifests[i])
	}
	return out
}

func (desc *ociDescriptor) check() error {
	if _, err := ParseOCIDigest(desc.Digest); err != nil {
		return manifestInvalid("descriptor digest %q: %v", textClip(desc.Digest), err)
	}
	if desc.Size < 0 {
		return manifestInvalid("descriptor %s has negative size %d", desc.Digest, desc.Size)
	}
	if desc.MediaType == "" {
		return manifestInvalid("descriptor %s has no mediaType", desc.Digest)
	}
	if desc.Data != nil {
		d, _ := ParseOCIDigest(desc.Digest)
		if int64(len(desc.Data)) != desc.Size || !d.Matches(desc.Data) {
			return manifestInvalid("descriptor %s: its data field does not match its digest and size", desc.Digest)
		}
	}
	return nil
}

// nondistributable reports whether a layer's media type says its bytes
// may live elsewhere (image-spec's non-distributable layers, Docker's
// foreign layers): a registry need not hold them.
func nondistributable(mediaType string) bool {
	return strings.Contains(mediaType, ".nondistributable.") || strings.Contains(mediaType, ".foreign.")
}
