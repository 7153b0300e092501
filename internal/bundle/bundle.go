// Package bundle writes and verifies evidence bundles: tar files that
// carry artifacts' bytes together with every event the store's log holds
// about them, their provenance closure, an inclusion proof of each event
// against one signed checkpoint, and the key that signed it, so that a
// person with nothing but the file (and the store owner's public key) can
// check that these exact bytes were registered at that point of that
// store's history, by whom and from which inputs.
//
// # Format (artstore-bundle/1)
//
// A bundle is a POSIX tar (PAX where a name needs it) of regular files
// only, every member under the directory "artstore-bundle/", mode 0644,
// owner 0:0, modification time 0, in exactly this order:
//
//	README.txt                      how to verify, for a person
//	bundle.json                     the table of contents (Index)
//	checkpoint                      the signed checkpoint (C2SP tlog-checkpoint)
//	key.pub                         the checkpoint's verifier key, one line
//	events/<seq>.body               an event's exact stored body, seq in 20 digits
//	events/<seq>.proof              "prev <hex>\n" then its inclusion proof, one base64 hash per line
//	artifacts/<id>/manifest         an artifact's manifest, as stored
//	artifacts/<id>/content          a file artifact's bytes
//	artifacts/<id>/file-manifests/<path>  a per-file layout tree's file manifest
//	artifacts/<id>/files/<path>     a tree's regular file
//
// Events come in ascending seq order, a .body before its .proof. Then each
// artifact of the index whose bytes are in the bundle, in index order: its
// manifest, then its content, or its tree's regular files in the
// manifest's (path) order, each preceded in the per-file layout by its file
// manifest. Directories and symbolic links are in the manifest only.
//
// The index lists the requested artifacts, then their provenance closure in
// breadth-first order (inputs in the order the registration lists them).
// Nothing in it is trusted: Verify recomputes every claim from the signed
// checkpoint, the proved events and the bytes, and refuses a bundle that is
// not exactly what Export writes for those events and bytes (README.txt
// included), so a bundle has one form and any change to it fails.
//
// An artifact deleted by an event in the bundle has no bytes in it: its
// events still say what it was. A bundle proves that each event it holds is
// in the log at its position; it cannot prove that no event about an
// artifact was left out (the log is not indexed by subject).
package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
)

// Format names this version of the bundle format.
const Format = "artstore-bundle/1"

// Dir is the directory every member is under.
const Dir = "artstore-bundle/"

// Member names, below Dir.
const (
	ReadmeName     = "README.txt"
	IndexName      = "bundle.json"
	CheckpointName = "checkpoint"
	KeyName        = "key.pub"
)

// Limits on the small members a verifier holds in memory.
const (
	maxReadme = 1 << 20
	maxIndex  = 64 << 20
	maxKey    = 4 << 10
	maxBody   = 1 << 20
	maxProof  = 16 << 10
	// maxEvents bounds the events (bodies and proofs) one bundle holds:
	// the verifier keeps them for the report and for an import.
	maxEvents = 256 << 20
)

// ClosureAll asks for the provenance closure to any depth.
const ClosureAll = -1

// ErrInvalid: a bundle fails verification (a member is damaged, missing,
// out of order or out of place, a proof or signature does not verify, or
// an event does not describe the bytes). The message names what failed.
var ErrInvalid = errors.New("bundle does not verify")

// epoch is every member's modification time: a bundle depends only on the
// store state it was made from.
var epoch = time.Unix(0, 0).UTC()

// Index is bundle.json: the bundle's table of contents.
type Index struct {
	Format string `json:"format"`
	// Origin, Size and Root repeat the checkpoint's.
	Origin string `json:"origin"`
	Size   int64  `json:"size"`
	Root   string `json:"root"`
	// Closure is the provenance depth the bundle was made with: 0 for the
	// requested artifacts alone, ClosureAll for inputs to any depth.
	Closure   int        `json:"closure"`
	Artifacts []Artifact `json:"artifacts"`
	// Events are the seqs of the events in the bundle, ascending.
	Events []int64 `json:"events"`
}

// Artifact is one artifact of the index.
type Artifact struct {
	ID string `json:"id"`
	// Ref is name:version.
	Ref      string         `json:"ref"`
	Digest   content.Digest `json:"digest"`
	Manifest content.Digest `json:"manifest"`
	Size     int64          `json:"size"`
	// Depth is 0 for a requested artifact, else its distance in the
	// provenance graph from the nearest requested one.
	Depth int `json:"depth"`
	// Bytes says whether its manifest and content are in the bundle (they
	// are unless an event in the bundle deleted it).
	Bytes bool `json:"bytes"`
}

func (ix *Index) encode() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ix); err != nil {
		return nil, fmt.Errorf("encode %s: %w", IndexName, err)
	}
	return b.Bytes(), nil
}

// eventName returns the member name of event seq's body or proof.
func eventName(seq int64, ext string) string {
	return fmt.Sprintf("%sevents/%020d.%s", Dir, seq, ext)
}

func artifactName(id, rest string) string { return Dir + "artifacts/" + id + "/" + rest }

// readme returns README.txt for the index and key.
func readme(ix *Index, vkey string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "artstore evidence bundle (%s)\n\n", Format)
	fmt.Fprintf(&b, "This file holds %d artifact(s) and %d event(s) of the artstore log\n%s,\n", len(ix.Artifacts), len(ix.Events), ix.Origin)
	fmt.Fprintf(&b, "each event proved included in the log's signed checkpoint of %d events.\n\n", ix.Size)
	for _, a := range ix.Artifacts {
		role := "requested"
		if a.Depth > 0 {
			role = fmt.Sprintf("input, depth %d", a.Depth)
		}
		state := ""
		if !a.Bytes {
			state = ", deleted: events only"
		}
		fmt.Fprintf(&b, "  %s  %s  (%s%s)\n", a.Ref, a.Digest, role, state)
	}
	b.WriteString(`
To verify it, with artstore and nothing else (no store, no network):

    artstore verify-bundle THIS.tar --key 'KEY'

where KEY is the store's public key as its owner gave it to you
("artstore log key" prints it). The key in key.pub is:

    ` + vkey + `

Do not trust key.pub merely because it is in this file: anyone who made a
bundle can sign it with a key of their own. Compare it with the key you got
from the store's owner, or pass that key with --key.

verify-bundle checks the checkpoint's signature, every event's hash and its
inclusion proof, that the events describe the manifests, every chunk and
file, and the provenance closure, then says what it proved.

By hand: events/<seq>.body is an event exactly as the log stored it; its hash
is the SHA-256 of the previous event's hash (the hex on the "prev" line of
events/<seq>.proof) followed by the body, so

    { printf %s PREV; cat events/<seq>.body; } | sha256sum

prints it. The remaining lines of the .proof file are an RFC 6962 inclusion
proof of leaf SHA-256(0x00 || hash) at index seq-1 in the checkpoint's tree.
artifacts/<id>/content is a file artifact's bytes (sha256sum prints its
digest); a tree's files are in artifacts/<id>/files/.
`)
	return []byte(b.String())
}

// closureStep is one artifact of a provenance closure walk: its ID, its
// depth, and the artifact that lists it as an input ("" for a root).
type closureStep struct {
	id    string
	depth int
	of    string
}

// walkClosure visits the roots (depth 0, duplicates once) and then their
// provenance inputs breadth first, to depth (ClosureAll: any), each
// artifact once, in the order a bundle lists them. visit returns the
// artifact IDs the visited artifact's registration names as inputs, in
// their order. Export and Verify both walk with it, so the closure a
// bundle holds and the one its verifier expects are the same by
// construction.
func walkClosure(roots []string, depth int, visit func(closureStep) ([]string, error)) error {
	var queue []closureStep
	seen := map[string]bool{}
	for _, id := range roots {
		if !seen[id] {
			seen[id] = true
			queue = append(queue, closureStep{id: id})
		}
	}
	for len(queue) > 0 {
		st := queue[0]
		queue = queue[1:]
		inputs, err := visit(st)
		if err != nil {
			return err
		}
		if depth != ClosureAll && st.depth >= depth {
			continue
		}
		for _, in := range inputs {
			if in != "" && !seen[in] {
				seen[in] = true
				queue = append(queue, closureStep{id: in, depth: st.depth + 1, of: st.id})
			}
		}
	}
	return nil
}

// inputIDs returns the artifact inputs a registration names, in order.
func inputIDs(reg *eventlog.ArtifactRegistered) []string {
	var out []string
	for _, in := range reg.Provenance.Inputs {
		if in.ArtifactID != "" {
			out = append(out, in.ArtifactID)
		}
	}
	return out
}
