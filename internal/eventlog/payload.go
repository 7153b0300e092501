package eventlog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/textfmt"
)

// Event type names. A released name's payload shape never changes.
const (
	// TypeArtifactRegistered is v2: v1 plus the producer's git_branch.
	TypeArtifactRegistered = "artifact.registered.v2"
	TypeTagMoved           = "tag.moved.v1"
	TypeTagRemoved         = "tag.removed.v1"
	TypeLabelsChanged      = "labels.changed.v1"
	TypeRetentionSet       = "retention.set.v1"
	TypeHoldPlaced         = "hold.placed.v1"
	TypeHoldReleased       = "hold.released.v1"
	TypeArtifactDeleted    = "artifact.deleted.v1"
	TypeArtifactRetrieved  = "artifact.retrieved.v1"
	TypeBlobsCollected     = "blobs.collected.v1"
	TypeArtifactRepaired   = "artifact.repaired.v1"
	TypeArtifactImported   = "artifact.imported.v1"

	// TypeArtifactRegisteredV1 is what artstore wrote before v2; its
	// decoder upcasts into ArtifactRegistered. An older artstore sharing a
	// log may still append it.
	TypeArtifactRegisteredV1 = "artifact.registered.v1"
)

// Payload is the typed body of an event. Each current payload struct names
// its own (latest) type.
type Payload interface {
	EventType() string
}

// Decoder turns an event type's raw payload into the current payload struct.
// A decoder for an old type version upcasts into the newer struct.
type Decoder func(raw json.RawMessage) (Payload, error)

// Types maps event type names to decoders. The zero value is DefaultTypes.
// A Types value is immutable; With returns an extended copy.
type Types struct {
	m map[string]Decoder
}

// DefaultTypes returns the table of every type this artstore reads.
func DefaultTypes() Types {
	return Types{m: map[string]Decoder{
		TypeArtifactRegistered:   decodeRegistered,
		TypeArtifactRegisteredV1: decodeRegisteredV1,
		TypeTagMoved:             decodeAs[TagMoved],
		TypeTagRemoved:           decodeAs[TagRemoved],
		TypeLabelsChanged:        decodeAs[LabelsChanged],
		TypeRetentionSet:         decodeAs[RetentionSet],
		TypeHoldPlaced:           decodeAs[HoldPlaced],
		TypeHoldReleased:         decodeAs[HoldReleased],
		TypeArtifactDeleted:      decodeAs[ArtifactDeleted],
		TypeArtifactRetrieved:    decodeAs[ArtifactRetrieved],
		TypeBlobsCollected:       decodeAs[BlobsCollected],
		TypeArtifactRepaired:     decodeAs[ArtifactRepaired],
		TypeArtifactImported:     decodeAs[ArtifactImported],
		TypeTokenCreated:         decodeAs[TokenCreated],
		TypeTokenRevoked:         decodeAs[TokenRevoked],

		TypeRetentionRuleAdded:   decodeAs[RetentionRuleAdded],
		TypeRetentionRuleRemoved: decodeAs[RetentionRuleRemoved],

		TypeOCIBlobLinked:   decodeAs[OCIBlobLinked],
		TypeOCIBlobUnlinked: decodeAs[OCIBlobUnlinked],
	}}
}

// With returns a copy of t that also decodes typ with d. It is how a new
// type version (or a test-only type) is added without mutating a table in
// use.
func (t Types) With(typ string, d Decoder) Types {
	m := maps.Clone(t.table())
	m[typ] = d
	return Types{m: m}
}

func (t Types) table() map[string]Decoder {
	if t.m == nil {
		return DefaultTypes().m
	}
	return t.m
}

// Names returns the known type names, sorted.
func (t Types) Names() []string { return slices.Sorted(maps.Keys(t.table())) }

// Decode returns the payload of an event of type typ. Unknown types fail
// with ErrUnknownType; a payload that does not decode or validate fails with
// ErrInvalidEvent.
func (t Types) Decode(typ string, raw json.RawMessage) (Payload, error) {
	d, ok := t.table()[typ]
	if !ok {
		return nil, fmt.Errorf("%w %q (written by a newer artstore?)", ErrUnknownType, textfmt.Clip(typ, 80))
	}
	p, err := d(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s payload: %v", ErrInvalidEvent, typ, err)
	}
	return p, nil
}

// validator is implemented by payloads that check their own invariants.
type validator interface{ validate() error }

// decodeAs strictly decodes raw into a *T: unknown members are refused
// (a new member means a new type version).
func decodeAs[T any, PT interface {
	*T
	Payload
}](raw json.RawMessage) (Payload, error) {
	var v T
	if err := decodeStrict(raw, &v); err != nil {
		return nil, err
	}
	p := PT(&v)
	if val, ok := any(p).(validator); ok {
		if err := val.validate(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// decodeStrict decodes raw into v, refusing members v has no field for.
func decodeStrict(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// decodeRegistered is decodeAs[ArtifactRegistered] with a fast path for
// the exact form json.Marshal writes for most registrations (members in
// order, no provenance, plain strings, label keys in increasing order),
// the bulk of every log that Rebuild decodes and of every push's append.
// Any other form, valid or not, goes to decodeAs; whatever the fast path
// accepts decodeAs decodes to the same value (FuzzDecodeRegistered).
func decodeRegistered(raw json.RawMessage) (Payload, error) {
	return decodeRegisteredFast(raw, decodeAs[ArtifactRegistered])
}

// decodeRegisteredV1 decodes artifact.registered.v1, upcast. The fast path
// serves v1 too: the form it takes has no provenance, where alone v1 and
// v2 differ.
func decodeRegisteredV1(raw json.RawMessage) (Payload, error) {
	return decodeRegisteredFast(raw, decodeRegisteredV1Strict)
}

func decodeRegisteredFast(raw json.RawMessage, strict Decoder) (Payload, error) {
	p, ok := fastRegistered(raw)
	if !ok {
		return strict(raw)
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// decodeRegisteredV1Strict decodes a v1 payload in its own frozen shape, so
// a member v1 never had (git_branch) is refused as before, and upcasts it.
func decodeRegisteredV1Strict(raw json.RawMessage) (Payload, error) {
	var v registeredV1
	if err := decodeStrict(raw, &v); err != nil {
		return nil, err
	}
	p := v.upcast()
	if err := p.validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// registeredV1 is the payload of artifact.registered.v1, frozen: it is
// ArtifactRegistered as it was before git_branch was added. Input has not
// changed since v1.
type registeredV1 struct {
	ID             string            `json:"id"`
	Name           string            `json:"name"`
	Version        string            `json:"version"`
	ContentDigest  content.Digest    `json:"content_digest"`
	Size           int64             `json:"size"`
	ManifestDigest content.Digest    `json:"manifest_digest"`
	MediaType      string            `json:"media_type,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"`
	Provenance     struct {
		Producer producerV1 `json:"producer,omitzero"`
		Inputs   []Input    `json:"inputs,omitempty"`
	} `json:"provenance,omitzero"`
	Tags []string `json:"tags,omitempty"`
}

// producerV1 is Producer as v1 had it: no git_branch.
type producerV1 struct {
	Tool      string `json:"tool,omitempty"`
	Command   string `json:"command,omitempty"`
	Host      string `json:"host,omitempty"`
	User      string `json:"user,omitempty"`
	GitRepo   string `json:"git_repo,omitempty"`
	GitCommit string `json:"git_commit,omitempty"`
	GitDirty  bool   `json:"git_dirty,omitempty"`
	CISystem  string `json:"ci_system,omitempty"`
	CIJob     string `json:"ci_job,omitempty"`
	CIRun     string `json:"ci_run,omitempty"`
	CIURL     string `json:"ci_url,omitempty"`
}

// upcast returns the current struct for a v1 payload: no git branch.
func (v *registeredV1) upcast() *ArtifactRegistered {
	pr := v.Provenance.Producer
	return &ArtifactRegistered{
		ID: v.ID, Name: v.Name, Version: v.Version, ContentDigest: v.ContentDigest, Size: v.Size,
		ManifestDigest: v.ManifestDigest, MediaType: v.MediaType, Labels: v.Labels,
		Provenance: Provenance{
			Producer: Producer{
				Tool: pr.Tool, Command: pr.Command, Host: pr.Host, User: pr.User,
				GitRepo: pr.GitRepo, GitCommit: pr.GitCommit, GitDirty: pr.GitDirty,
				CISystem: pr.CISystem, CIJob: pr.CIJob, CIRun: pr.CIRun, CIURL: pr.CIURL,
			},
			Inputs: v.Provenance.Inputs,
		},
		Tags: v.Tags,
	}
}

// canon reads JSON in one exact form; any difference clears ok.
type canon struct {
	b  []byte
	ok bool
}

// next reports whether the input continues with s, and consumes it if so.
func (c *canon) next(s string) bool {
	if !c.ok || !bytes.HasPrefix(c.b, []byte(s)) {
		return false
	}
	c.b = c.b[len(s):]
	return true
}

// lit consumes s, which must come next.
func (c *canon) lit(s string) {
	if !c.next(s) {
		c.ok = false
	}
}

func (c *canon) str() string {
	if !c.ok {
		return ""
	}
	s, rest, ok := cutPlainString(c.b)
	c.b, c.ok = rest, ok
	return s
}

func (c *canon) digest() content.Digest {
	s := c.str()
	if s == "" || !c.ok {
		return content.Digest{}
	}
	d, err := content.ParseDigest(s)
	if err != nil {
		c.ok = false
	}
	return d
}

func fastRegistered(raw []byte) (*ArtifactRegistered, bool) {
	c := canon{b: raw, ok: true}
	var p ArtifactRegistered
	c.lit(`{"id":`)
	p.ID = c.str()
	c.lit(`,"name":`)
	p.Name = c.str()
	c.lit(`,"version":`)
	p.Version = c.str()
	c.lit(`,"content_digest":`)
	p.ContentDigest = c.digest()
	c.lit(`,"size":`)
	if c.ok {
		p.Size, c.b, c.ok = cutUint(c.b)
	}
	c.lit(`,"manifest_digest":`)
	p.ManifestDigest = c.digest()
	if c.next(`,"media_type":`) {
		p.MediaType = c.str()
	}
	if c.next(`,"labels":{`) {
		p.Labels = map[string]string{}
		for prev := ""; c.ok; {
			k := c.str()
			c.lit(":")
			v := c.str()
			if len(p.Labels) > 0 && k <= prev {
				c.ok = false // json.Marshal writes keys sorted, each once
			}
			p.Labels[k], prev = v, k
			if !c.next(",") {
				break
			}
		}
		c.lit("}")
	}
	if c.next(`,"tags":[`) {
		for c.ok {
			p.Tags = append(p.Tags, c.str())
			if !c.next(",") {
				break
			}
		}
		c.lit("]")
	}
	c.lit("}")
	if !c.ok || len(c.b) != 0 {
		return nil, false
	}
	return &p, true
}

// ArtifactRegistered records a new artifact version. The event's subject is
// the artifact ID; its time is the creation time and its actor the creator.
type ArtifactRegistered struct {
	ID             string            `json:"id"`
	Name           string            `json:"name"`
	Version        string            `json:"version"`
	ContentDigest  content.Digest    `json:"content_digest"`
	Size           int64             `json:"size"`
	ManifestDigest content.Digest    `json:"manifest_digest"`
	MediaType      string            `json:"media_type,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"`
	Provenance     Provenance        `json:"provenance,omitzero"`
	// Tags are pointed at the new artifact (moved from older versions).
	Tags []string `json:"tags,omitempty"`
}

// Provenance says what produced an artifact and from what.
type Provenance struct {
	Producer Producer `json:"producer,omitzero"`
	Inputs   []Input  `json:"inputs,omitempty"`
}

// Producer describes the tool run and environment that produced an artifact.
type Producer struct {
	Tool      string `json:"tool,omitempty"`
	Command   string `json:"command,omitempty"`
	Host      string `json:"host,omitempty"`
	User      string `json:"user,omitempty"`
	GitRepo   string `json:"git_repo,omitempty"`
	GitCommit string `json:"git_commit,omitempty"`
	// GitBranch is new in artifact.registered.v2.
	GitBranch string `json:"git_branch,omitempty"`
	GitDirty  bool   `json:"git_dirty,omitempty"`
	CISystem  string `json:"ci_system,omitempty"`
	CIJob     string `json:"ci_job,omitempty"`
	CIRun     string `json:"ci_run,omitempty"`
	CIURL     string `json:"ci_url,omitempty"`
}

// Input is one thing an artifact was made from: another artifact
// (ArtifactID set, resolved at registration) or raw content (Digest only).
type Input struct {
	// Ref is the reference as the user gave it, kept for display.
	Ref        string         `json:"ref,omitempty"`
	ArtifactID string         `json:"artifact_id,omitempty"`
	Digest     content.Digest `json:"digest,omitzero"`
	// Role says how the input was used ("source", "config", "dependency").
	Role string `json:"role,omitempty"`
}

// EventType implements Payload.
func (ArtifactRegistered) EventType() string { return TypeArtifactRegistered }

func (p *ArtifactRegistered) validate() error {
	switch {
	case p.ID == "" || p.Name == "" || p.Version == "":
		return fmt.Errorf("id, name and version are required")
	case p.ContentDigest.IsZero() || p.ManifestDigest.IsZero():
		return fmt.Errorf("content_digest and manifest_digest are required")
	case p.Size < 0:
		return fmt.Errorf("negative size %d", p.Size)
	}
	for i, in := range p.Provenance.Inputs {
		if in.ArtifactID == "" && in.Digest.IsZero() {
			return fmt.Errorf("input %d has neither artifact_id nor digest", i)
		}
	}
	return nil
}

// TagMoved points tag Tag of name Name at an artifact of that name.
type TagMoved struct {
	Name       string `json:"name"`
	Tag        string `json:"tag"`
	ArtifactID string `json:"artifact_id"`
}

// EventType implements Payload.
func (TagMoved) EventType() string { return TypeTagMoved }

func (p *TagMoved) validate() error {
	if p.Name == "" || p.Tag == "" || p.ArtifactID == "" {
		return fmt.Errorf("name, tag and artifact_id are required")
	}
	return nil
}

// TagRemoved deletes tag Tag of name Name.
type TagRemoved struct {
	Name string `json:"name"`
	Tag  string `json:"tag"`
}

// EventType implements Payload.
func (TagRemoved) EventType() string { return TypeTagRemoved }

func (p *TagRemoved) validate() error {
	if p.Name == "" || p.Tag == "" {
		return fmt.Errorf("name and tag are required")
	}
	return nil
}

// LabelsChanged sets and removes labels of an artifact. Keys in Remove are
// removed after Set is applied; a key may not appear in both.
type LabelsChanged struct {
	ArtifactID string            `json:"artifact_id"`
	Set        map[string]string `json:"set,omitempty"`
	Remove     []string          `json:"remove,omitempty"`
}

// EventType implements Payload.
func (LabelsChanged) EventType() string { return TypeLabelsChanged }

func (p *LabelsChanged) validate() error {
	if p.ArtifactID == "" {
		return fmt.Errorf("artifact_id is required")
	}
	for _, k := range p.Remove {
		if _, dup := p.Set[k]; dup {
			return fmt.Errorf("label %q is both set and removed", k)
		}
	}
	return nil
}

// RetentionSet replaces an artifact's retention settings. A zero time means
// "none".
type RetentionSet struct {
	ArtifactID string `json:"artifact_id"`
	// ExpiresAt: the artifact may be deleted by retention after this time.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// ImmutableUntil: the artifact may not be deleted until this time (WORM).
	ImmutableUntil time.Time `json:"immutable_until,omitzero"`
}

// EventType implements Payload.
func (RetentionSet) EventType() string { return TypeRetentionSet }

func (p *RetentionSet) validate() error {
	if p.ArtifactID == "" {
		return fmt.Errorf("artifact_id is required")
	}
	return nil
}

// HoldPlaced places the named legal hold on an artifact; while any hold is
// placed the artifact cannot be deleted.
type HoldPlaced struct {
	ArtifactID string `json:"artifact_id"`
	Hold       string `json:"hold"`
	Reason     string `json:"reason,omitempty"`
}

// EventType implements Payload.
func (HoldPlaced) EventType() string { return TypeHoldPlaced }

func (p *HoldPlaced) validate() error {
	if p.ArtifactID == "" || p.Hold == "" {
		return fmt.Errorf("artifact_id and hold are required")
	}
	return nil
}

// HoldReleased releases the named legal hold.
type HoldReleased struct {
	ArtifactID string `json:"artifact_id"`
	Hold       string `json:"hold"`
	Reason     string `json:"reason,omitempty"`
}

// EventType implements Payload.
func (HoldReleased) EventType() string { return TypeHoldReleased }

func (p *HoldReleased) validate() error {
	if p.ArtifactID == "" || p.Hold == "" {
		return fmt.Errorf("artifact_id and hold are required")
	}
	return nil
}

// ArtifactDeleted is a tombstone: the artifact disappears from references
// and listings (its tags are removed), its version stays taken, and its
// bytes become garbage for the collector.
type ArtifactDeleted struct {
	ArtifactID string `json:"artifact_id"`
	Reason     string `json:"reason,omitempty"`
}

// EventType implements Payload.
func (ArtifactDeleted) EventType() string { return TypeArtifactDeleted }

func (p *ArtifactDeleted) validate() error {
	if p.ArtifactID == "" {
		return fmt.Errorf("artifact_id is required")
	}
	return nil
}

// ArtifactRetrieved is a retrieval record: the event's actor read Bytes
// bytes of the artifact (Range empty for the whole content).
type ArtifactRetrieved struct {
	ArtifactID string `json:"artifact_id"`
	Bytes      int64  `json:"bytes"`
	// Range is the inclusive byte range read, "start-end", or "".
	Range string `json:"range,omitempty"`
	// Client identifies the client program or address.
	Client string `json:"client,omitempty"`
}

// EventType implements Payload.
func (ArtifactRetrieved) EventType() string { return TypeArtifactRetrieved }

func (p *ArtifactRetrieved) validate() error {
	if p.ArtifactID == "" || p.Bytes < 0 {
		return fmt.Errorf("artifact_id is required and bytes must not be negative")
	}
	return nil
}

// ArtifactRepaired records that blobs of an artifact that were missing or
// damaged were supplied again from Source, and that every blob of the
// artifact was then read back and verified. It changes no view: the
// artifact's registration, content and manifest are what they were. The
// event's subject is the artifact ID.
type ArtifactRepaired struct {
	ArtifactID string `json:"artifact_id"`
	// Source says what the blobs were supplied from ("file q3.pdf",
	// "directory site", "backend offsite"), as the client described it.
	Source string `json:"source"`
	// Missing and Damaged count what the check before the repair found:
	// blobs absent, and blobs present with wrong bytes (which it deleted).
	Missing int `json:"missing"`
	Damaged int `json:"damaged"`
	// Blobs and Bytes are what the check after the repair verified.
	Blobs int   `json:"blobs"`
	Bytes int64 `json:"bytes"`
}

// EventType implements Payload.
func (ArtifactRepaired) EventType() string { return TypeArtifactRepaired }

func (p *ArtifactRepaired) validate() error {
	switch {
	case p.ArtifactID == "" || p.Source == "":
		return fmt.Errorf("artifact_id and source are required")
	case p.Missing < 0 || p.Damaged < 0 || p.Blobs < 0 || p.Bytes < 0:
		return fmt.Errorf("counts must not be negative")
	}
	return nil
}

// BlobsCollected records blobs removed by garbage collection. It changes no
// view; it is the audit record of what GC deleted.
type BlobsCollected struct {
	Backend string           `json:"backend,omitempty"`
	Digests []content.Digest `json:"digests"`
	Bytes   int64            `json:"bytes"`
}

// EventType implements Payload.
func (BlobsCollected) EventType() string { return TypeBlobsCollected }

// ArtifactImported records that the artifact registered by the event
// before it (in the same append) came from an evidence bundle of another
// store, and keeps that store's evidence about it as it was: its events,
// their inclusion proofs and the checkpoint they are proved in, signed by
// the other store's key. It is never re-signed by this store: anyone can
// check it again against the other store's key (bundle.VerifyForeign). It
// changes no view. The event's subject is the (local) artifact ID.
type ArtifactImported struct {
	ArtifactID string `json:"artifact_id"`
	// Origin is the other log's origin, Key the verifier key its
	// checkpoint verified with; KeyGiven says that key was the importer's
	// (else it was the bundle's own).
	Origin   string `json:"origin"`
	Key      string `json:"key"`
	KeyGiven bool   `json:"key_given,omitempty"`
	// Checkpoint is the other log's signed checkpoint, as the bundle held it.
	Checkpoint string `json:"checkpoint"`
	// ForeignID is the artifact's ID in the other store.
	ForeignID string `json:"foreign_id"`
	// Events are the other store's events about the artifact that the
	// bundle held, in seq order, the first its registration.
	Events []ForeignEvent `json:"events"`
}

// ForeignEvent is another log's event: its exact body, the hash of the
// event before it, and its inclusion proof (base64 hashes).
type ForeignEvent struct {
	Seq   int64    `json:"seq"`
	Prev  string   `json:"prev"`
	Body  string   `json:"body"`
	Proof []string `json:"proof"`
}

// EventType implements Payload.
func (ArtifactImported) EventType() string { return TypeArtifactImported }

func (p *ArtifactImported) validate() error {
	switch {
	case p.ArtifactID == "" || p.Origin == "" || p.Key == "" || p.Checkpoint == "" || p.ForeignID == "":
		return fmt.Errorf("artifact_id, origin, key, checkpoint and foreign_id are required")
	case len(p.Events) == 0:
		return fmt.Errorf("the foreign registration event is required")
	}
	for i, e := range p.Events {
		if e.Seq < 1 || (i > 0 && e.Seq <= p.Events[i-1].Seq) {
			return fmt.Errorf("foreign event %d: seq %d out of order", i, e.Seq)
		}
	}
	return nil
}
