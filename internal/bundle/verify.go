package bundle

import (
	"archive/tar"
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/tlog"
	"golang.org/x/mod/sumdb/note"
)

// Options configure Verify.
type Options struct {
	// Key is the verifier key the checkpoint must be signed with, as the
	// store's owner published it. Empty: the bundle's own key.pub, which
	// proves only that whoever made the bundle held that key.
	Key string
	// Blob, if set, is handed every manifest and chunk once its digest is
	// verified (size bytes read from r), in bundle order; its error stops
	// the check. Import stores them with it. A chunk is held in memory
	// until it is whole (at most content.MaxChunkSize bytes).
	Blob func(d content.Digest, size int64, r io.Reader) error

	// maxEvents replaces the package's limit on the events a bundle
	// holds, for tests.
	maxEvents int64
}

// Report is what Verify proved.
type Report struct {
	OK bool `json:"ok"`
	// Problem says what failed, Member in which member of the tar.
	Problem string `json:"problem,omitempty"`
	Member  string `json:"member,omitempty"`

	Format string `json:"format,omitempty"`
	Origin string `json:"origin,omitempty"`
	Key    string `json:"key,omitempty"`
	// KeyFromBundle: no key was given, the bundle's key.pub was used.
	KeyFromBundle bool   `json:"key_from_bundle"`
	Size          int64  `json:"checkpoint_size,omitempty"`
	Root          string `json:"checkpoint_root,omitempty"`
	Closure       int    `json:"closure"`

	Artifacts []ArtifactReport `json:"artifacts,omitempty"`
	Events    int              `json:"events"`
	// Bytes is the content verified, Chunks the chunks it was checked in.
	Bytes  int64 `json:"bytes"`
	Chunks int   `json:"chunks"`

	// Checkpoint is the signed checkpoint, as the bundle holds it.
	Checkpoint []byte `json:"-"`
}

// ArtifactReport is what a bundle proves about one artifact.
type ArtifactReport struct {
	ID         string            `json:"id"`
	Ref        string            `json:"ref"`
	Kind       string            `json:"kind,omitempty"`
	Digest     string            `json:"digest"`
	Size       int64             `json:"size"`
	Depth      int               `json:"depth"`
	Registered time.Time         `json:"registered"`
	By         string            `json:"by"`
	Seq        int64             `json:"seq"`
	MediaType  string            `json:"media_type,omitempty"`
	Producer   eventlog.Producer `json:"producer,omitzero"`
	Inputs     []eventlog.Input  `json:"inputs,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	Events     map[string]int    `json:"events"`
	Deleted    bool              `json:"deleted,omitempty"`
	Files      int               `json:"files,omitempty"`
	Verified   bool              `json:"bytes_verified"`
	Tags       []string          `json:"tags,omitempty"`

	// Registration is the artifact's registration payload, and Proved its
	// events in the bundle with what proves them, in seq order.
	Registration *eventlog.ArtifactRegistered `json:"-"`
	Proved       []ProvedEvent                `json:"-"`
}

// ProvedEvent is an event as a bundle holds it: its exact stored body, the
// hash of the event before it, and its inclusion proof in the bundle's
// checkpoint.
type ProvedEvent struct {
	Seq   int64
	Prev  string
	Body  []byte
	Proof tlog.Proof
}

// Verify reads a bundle from r and checks all of it: that every member is
// the one the format puts there, the checkpoint's signature, every
// event's hash and inclusion proof, that the events register the index's
// artifacts and their provenance closure, and every manifest, chunk and
// file. It needs nothing but r. The report is filled in as far as the
// check got; the error matches ErrInvalid when the bundle fails (the
// report says what and where) and is returned as is when r fails.
func Verify(r io.Reader, opts Options) (*Report, error) {
	rr := &recordingReader{r: r}
	v := &verifier{tr: tar.NewReader(rr), rep: &Report{}, opts: opts, arts: map[string]*ArtifactReport{}}
	err := v.run()
	if err != nil {
		var ie *invalidError
		if rr.err != nil {
			// The reader failed (a cut connection, a disk error): that,
			// not the bundle it cut short, is the error.
			return v.rep, fmt.Errorf("read the bundle: %w", rr.err)
		}
		if errors.As(err, &ie) {
			v.rep.Problem, v.rep.Member = ie.problem, ie.member
			return v.rep, fmt.Errorf("%w: %s", ErrInvalid, ie.Error())
		}
		return v.rep, err
	}
	v.rep.OK = true
	return v.rep, nil
}

// recordingReader remembers its reader's first error other than io.EOF.
type recordingReader struct {
	r   io.Reader
	err error
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

// invalidError is a verification failure in a member.
type invalidError struct {
	member  string
	problem string
}

func (e *invalidError) Error() string {
	if e.member == "" {
		return e.problem
	}
	return e.member + ": " + e.problem
}

func invalid(member, format string, args ...any) error {
	return &invalidError{member: member, problem: fmt.Sprintf(format, args...)}
}

type verifier struct {
	tr   *tar.Reader
	rep  *Report
	opts Options
	// bundleKey is the key in key.pub.
	bundleKey string
	// kept counts the bytes of the events kept in the report.
	kept  int64
	ix    Index
	head  tlog.Head
	arts  map[string]*ArtifactReport
	types eventlog.Types
}

func (v *verifier) run() error {
	rb, err := v.small(Dir+ReadmeName, maxReadme)
	if err != nil {
		return err
	}
	if err := v.index(); err != nil {
		return err
	}
	if err := v.checkpoint(); err != nil {
		return err
	}
	if !bytes.Equal(rb, readme(&v.ix, v.bundleKey)) {
		return invalid(Dir+ReadmeName, "differs from the README this bundle's contents give (it was edited)")
	}
	if err := v.events(); err != nil {
		return err
	}
	if err := v.artifacts(); err != nil {
		return err
	}
	for _, a := range v.ix.Artifacts {
		if !a.Bytes {
			continue
		}
		if err := v.bytes(a); err != nil {
			return err
		}
	}
	h, err := v.tr.Next()
	if err == nil {
		return invalid(h.Name, "is an extra member after the last artifact's bytes")
	}
	if err != io.EOF {
		return invalid("", "the tar ends badly after the last artifact: %v", err)
	}
	return nil
}

// next reads the next member's header, which must be name, a regular file
// in the one form Export writes.
func (v *verifier) next(name string) (*tar.Header, error) {
	h, err := v.tr.Next()
	if err == io.EOF {
		return nil, invalid(name, "is missing: the bundle ends before it")
	}
	if err != nil {
		return nil, invalid(name, "is missing: the tar cannot be read where it should be: %v", err)
	}
	if h.Name != name {
		return nil, invalid(h.Name, "is where %s should be (members are missing, added or out of order)", name)
	}
	want := header(name, h.Size)
	if h.Typeflag != tar.TypeReg || h.Mode != want.Mode || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" ||
		h.Linkname != "" || !h.ModTime.Equal(epoch) || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() || h.Size < 0 {
		return nil, invalid(name, "has a tar header Export never writes (type, mode, owner or time changed)")
	}
	for k := range h.PAXRecords {
		if k != "path" && k != "size" {
			return nil, invalid(name, "has a tar header Export never writes (PAX record %q)", k)
		}
	}
	return h, nil
}

// small reads a whole member of at most max bytes.
func (v *verifier) small(full string, max int64) ([]byte, error) {
	h, err := v.next(full)
	if err != nil {
		return nil, err
	}
	if h.Size > max {
		return nil, invalid(full, "is %d bytes, more than the %d such a member can be", h.Size, max)
	}
	b, err := io.ReadAll(v.tr)
	if err != nil {
		return nil, invalid(full, "cannot be read: %v", err)
	}
	return b, nil
}

func (v *verifier) index() error {
	name := Dir + IndexName
	b, err := v.small(name, maxIndex)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v.ix); err != nil {
		return invalid(name, "is not a bundle index: %v", err)
	}
	if v.ix.Format != Format {
		return invalid(name, "is format %q; this artstore reads %q", v.ix.Format, Format)
	}
	if again, err := v.ix.encode(); err != nil || !bytes.Equal(again, b) {
		return invalid(name, "is not in the one form Export writes (it was edited)")
	}
	v.rep.Format, v.rep.Origin, v.rep.Closure = v.ix.Format, v.ix.Origin, v.ix.Closure
	if v.ix.Closure < ClosureAll {
		return invalid(name, "has closure %d; want %d (any depth) or more", v.ix.Closure, ClosureAll)
	}
	if len(v.ix.Artifacts) == 0 {
		return invalid(name, "lists no artifacts")
	}
	seen := map[string]bool{}
	for _, a := range v.ix.Artifacts {
		if a.ID == "" || seen[a.ID] {
			return invalid(name, "lists artifact %q twice or without an ID", a.ID)
		}
		seen[a.ID] = true
	}
	for i, s := range v.ix.Events {
		if s < 1 || s > v.ix.Size || (i > 0 && s <= v.ix.Events[i-1]) {
			return invalid(name, "lists event %d out of order or outside the checkpoint's %d events", s, v.ix.Size)
		}
	}
	return nil
}

// checkpoint checks the signed checkpoint against the key and the index.
func (v *verifier) checkpoint() error {
	cpb, err := v.small(Dir+CheckpointName, tlog.MaxCheckpointSize)
	if err != nil {
		return err
	}
	kb, err := v.small(Dir+KeyName, maxKey)
	if err != nil {
		return err
	}
	keyName := Dir + KeyName
	line, ok := bytes.CutSuffix(kb, []byte("\n"))
	if !ok || bytes.ContainsAny(line, "\n\r") || len(line) == 0 {
		return invalid(keyName, "is not one line holding a verifier key")
	}
	v.bundleKey = string(line)
	if _, err := note.NewVerifier(v.bundleKey); err != nil || !canonicalKey(v.bundleKey) {
		return invalid(keyName, "is not a verifier key in canonical form (name+hash+base64)")
	}
	key := v.opts.Key
	v.rep.KeyFromBundle = key == ""
	if key == "" {
		key = v.bundleKey
	} else if key != v.bundleKey {
		return invalid(keyName, "holds %q, not the key you gave (%q): the bundle was not made with that store's key", v.bundleKey, key)
	}
	v.rep.Key = key
	cp, err := tlog.OpenCheckpoint(cpb, key)
	if err != nil {
		return invalid(Dir+CheckpointName, "does not verify with key %s: %v", key, err)
	}
	if cp.Origin != v.ix.Origin || cp.Size != v.ix.Size || cp.Root.String() != v.ix.Root {
		return invalid(Dir+IndexName, "names the log %s at %d events, root %s; the signed checkpoint says %s at %d, root %s",
			v.ix.Origin, v.ix.Size, v.ix.Root, cp.Origin, cp.Size, cp.Root)
	}
	v.head = cp.Head
	v.rep.Size, v.rep.Root, v.rep.Checkpoint = cp.Size, cp.Root.String(), cpb
	return nil
}

// events checks every event: its member names, hash, inclusion proof and
// payload, and collects what they say about each artifact.
func (v *verifier) events() error {
	v.types = eventlog.DefaultTypes()
	ids := map[string]bool{}
	for _, a := range v.ix.Artifacts {
		ids[a.ID] = true
	}
	for _, seq := range v.ix.Events {
		e, p, err := v.event(seq)
		if err != nil {
			return err
		}
		if !ids[e.Subject] {
			return invalid(eventName(seq, "body"), "is about %q, which is not an artifact of this bundle", e.Subject)
		}
		if err := v.apply(e); err != nil {
			return invalid(eventName(seq, "body"), "%v", err)
		}
		v.kept += int64(len(e.Body) + len(p)*tlog.HashSize)
		if limit := cmp.Or(v.opts.maxEvents, maxEvents); v.kept > limit {
			return invalid(eventName(seq, "body"), "the bundle's events are more than %d bytes, more than a bundle may hold", limit)
		}
		a := v.arts[e.Subject]
		a.Proved = append(a.Proved, ProvedEvent{Seq: e.Seq, Prev: e.Prev, Body: e.Body, Proof: p})
		v.rep.Events++
	}
	return nil
}

// event reads and checks one event's body and proof.
func (v *verifier) event(seq int64) (eventlog.Event, tlog.Proof, error) {
	bodyName, proofName := eventName(seq, "body"), eventName(seq, "proof")
	body, err := v.small(bodyName, maxBody)
	if err != nil {
		return eventlog.Event{}, nil, err
	}
	pb, err := v.small(proofName, maxProof)
	if err != nil {
		return eventlog.Event{}, nil, err
	}
	line, rest, ok := bytes.Cut(pb, []byte("\n"))
	prev, okPrev := bytes.CutPrefix(line, []byte("prev "))
	if !ok || !okPrev || !validPrev(seq, string(prev)) {
		return eventlog.Event{}, nil, invalid(proofName, "does not start with the line \"prev HASH\" (the previous event's hash, 64 hex digits; empty for event 1)")
	}
	p, err := tlog.ParseProof(rest)
	if err != nil {
		return eventlog.Event{}, nil, invalid(proofName, "%v", err)
	}
	hash := eventlog.Hash(string(prev), body)
	if err := tlog.VerifyInclusion(hash, seq-1, v.head, p); err != nil {
		return eventlog.Event{}, nil, invalid(proofName, "the event (hash %s) is not proved in the checkpoint of %d events: the body, prev or proof was changed: %v", hash, v.head.Size, err)
	}
	e, err := eventlog.DecodeStored(seq, body, string(prev), hash)
	if err != nil {
		return eventlog.Event{}, nil, invalid(bodyName, "%v", err)
	}
	if e.Seq != seq {
		return eventlog.Event{}, nil, invalid(bodyName, "is event %d, not %d", e.Seq, seq)
	}
	return e, p, nil
}

// canonicalKey reports whether a verifier key's base64 is canonical
// (note.NewVerifier ignores unused bits, so one key has several spellings).
func canonicalKey(vkey string) bool {
	parts := strings.SplitN(vkey, "+", 3) // the name and hash have no '+'
	if len(parts) != 3 {
		return false
	}
	_, err := base64.StdEncoding.Strict().DecodeString(parts[2])
	return err == nil
}

func validPrev(seq int64, prev string) bool {
	if seq == 1 {
		return prev == ""
	}
	if len(prev) != 64 {
		return false
	}
	_, err := hex.DecodeString(prev)
	return err == nil && prev == strings.ToLower(prev)
}

// apply records what event e says about its subject.
func (v *verifier) apply(e eventlog.Event) error {
	p, err := v.types.Decode(e.Type, e.Payload)
	if err != nil {
		return err
	}
	a := v.arts[e.Subject]
	if reg, ok := p.(*eventlog.ArtifactRegistered); ok {
		if a != nil || reg.ID != e.Subject {
			return fmt.Errorf("registers %s, which an earlier event of the bundle registered", reg.ID)
		}
		v.arts[e.Subject] = &ArtifactReport{
			Registration: reg,
			ID:           reg.ID, Ref: reg.Name + ":" + reg.Version, Digest: reg.ContentDigest.String(), Size: reg.Size,
			Registered: e.Time, By: e.Actor, Seq: e.Seq, MediaType: reg.MediaType, Producer: reg.Provenance.Producer,
			Inputs: reg.Provenance.Inputs, Labels: maps.Clone(reg.Labels), Events: map[string]int{}, Tags: slices.Clone(reg.Tags),
		}
		v.arts[e.Subject].Events[e.Type]++
		return nil
	}
	if a == nil {
		return fmt.Errorf("is a %s event about %s before any event of the bundle registers it", e.Type, e.Subject)
	}
	if id := payloadArtifact(p); id != "" && id != e.Subject {
		return fmt.Errorf("has subject %s but its payload names artifact %s", e.Subject, id)
	}
	a.Events[e.Type]++
	switch p := p.(type) {
	case *eventlog.ArtifactDeleted:
		a.Deleted = true
	case *eventlog.LabelsChanged:
		if a.Labels == nil {
			a.Labels = map[string]string{}
		}
		maps.Copy(a.Labels, p.Set)
		for _, k := range p.Remove {
			delete(a.Labels, k)
		}
	case *eventlog.TagMoved:
		if !slices.Contains(a.Tags, p.Tag) {
			a.Tags = append(a.Tags, p.Tag)
		}
	}
	return nil
}

// registration returns the registration of artifact id the bundle's
// events hold, nil if none.
func (v *verifier) registration(id string) *eventlog.ArtifactRegistered {
	if a := v.arts[id]; a != nil {
		return a.Registration
	}
	return nil
}

// payloadArtifact returns the artifact a payload names, if it names one.
func payloadArtifact(p eventlog.Payload) string {
	switch p := p.(type) {
	case *eventlog.TagMoved:
		return p.ArtifactID
	case *eventlog.LabelsChanged:
		return p.ArtifactID
	case *eventlog.HoldPlaced:
		return p.ArtifactID
	case *eventlog.ArtifactDeleted:
		return p.ArtifactID
	case *eventlog.ArtifactRetrieved:
		return p.ArtifactID
	}
	return ""
}

// artifacts checks the index's artifacts against their registrations, and
// that they are exactly the requested ones and their provenance closure.
func (v *verifier) artifacts() error {
	name := Dir + IndexName
	var roots []string
	for _, a := range v.ix.Artifacts {
		if a.Depth == 0 {
			roots = append(roots, a.ID)
		}
	}
	var order []closureStep
	err := walkClosure(roots, v.ix.Closure, func(step closureStep) ([]string, error) {
		order = append(order, step)
		reg := v.registration(step.id)
		switch {
		case reg == nil && step.of != "":
			of := v.registration(step.of)
			ref := step.id
			for _, in := range of.Provenance.Inputs {
				if in.ArtifactID == step.id && in.Ref != "" {
					ref = in.Ref + " (" + step.id + ")"
				}
			}
			return nil, invalid(name, "the provenance closure is incomplete: %s:%s lists %s as an input, and the bundle has no event registering it", of.Name, of.Version, ref)
		case reg == nil:
			return nil, invalid(name, "lists %s as requested, and the bundle has no event registering it", step.id)
		}
		return inputIDs(reg), nil
	})
	if err != nil {
		return err
	}
	if len(order) != len(v.ix.Artifacts) {
		return invalid(name, "lists %d artifacts; the requested ones and their provenance closure are %d", len(v.ix.Artifacts), len(order))
	}
	v.rep.Artifacts = make([]ArtifactReport, 0, len(v.ix.Artifacts)) // v.arts points into it
	for i, a := range v.ix.Artifacts {
		if order[i].id != a.ID || order[i].depth != a.Depth {
			return invalid(name, "lists %s at depth %d where the provenance closure has %s at depth %d", a.ID, a.Depth, order[i].id, order[i].depth)
		}
		rep := v.arts[a.ID]
		want := (&state{id: a.ID, reg: rep.Registration, deleted: rep.Deleted}).artifact(a.Depth)
		if a != want {
			return invalid(name, "says %s is %s %s (%d bytes, manifest %s, bytes in bundle: %v); its events say %s %s (%d bytes, manifest %s, bytes in bundle: %v)",
				a.ID, a.Ref, a.Digest, a.Size, a.Manifest, a.Bytes, want.Ref, want.Digest, want.Size, want.Manifest, want.Bytes)
		}
		rep.Depth = a.Depth
		v.rep.Artifacts = append(v.rep.Artifacts, *rep)
		v.arts[a.ID] = &v.rep.Artifacts[len(v.rep.Artifacts)-1]
	}
	return nil
}
