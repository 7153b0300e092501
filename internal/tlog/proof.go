package tlog

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
)

// Proof is an inclusion or consistency proof: the hashes a verifier
// combines with what it already knows to recompute a root.
type Proof []Hash

// MaxProofLen bounds a proof's length: a proof in a tree of fewer than
// 2^63 leaves has at most 2*63 hashes.
const MaxProofLen = 2 * 63

// b64Len is the length of a hash in standard base64.
const b64Len = 44

func (p Proof) raw() [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = p[i][:]
	}
	return out
}

// MarshalText encodes p as its hashes in standard base64, one per line,
// each line ending in a newline (an empty proof is empty text).
func (p Proof) MarshalText() ([]byte, error) {
	b := make([]byte, 0, len(p)*(b64Len+1))
	for _, h := range p {
		b = base64.StdEncoding.AppendEncode(b, h[:])
		b = append(b, '\n')
	}
	return b, nil
}

// UnmarshalText decodes the encoding of MarshalText, strictly: at most
// MaxProofLen lines, each exactly one 32-byte hash in canonical standard
// base64 followed by a newline. Errors match ErrMalformed.
func (p *Proof) UnmarshalText(b []byte) error {
	q, err := ParseProof(b)
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// ParseProof decodes a proof written by Proof.MarshalText; see
// Proof.UnmarshalText.
func ParseProof(b []byte) (Proof, error) {
	if len(b) > MaxProofLen*(b64Len+1) {
		return nil, fmt.Errorf("%w: proof of %d bytes is longer than any proof (%d hashes)", ErrMalformed, len(b), MaxProofLen)
	}
	p := Proof{}
	for n := 1; len(b) > 0; n++ {
		line, rest, ok := bytes.Cut(b, []byte{'\n'})
		if !ok {
			return nil, fmt.Errorf("%w: proof line %d does not end in a newline", ErrMalformed, n)
		}
		h, err := parseHash(line)
		if err != nil {
			return nil, fmt.Errorf("%w: proof line %d: %v", ErrMalformed, n, err)
		}
		p = append(p, h)
		b = rest
	}
	return p, nil
}

// parseHash decodes one hash in canonical standard base64.
func parseHash(s []byte) (Hash, error) {
	if len(s) != b64Len {
		return Hash{}, fmt.Errorf("hash is %d characters, want %d of base64", len(s), b64Len)
	}
	var buf [HashSize + 1]byte // DecodedLen(44) is 33
	n, err := base64.StdEncoding.Strict().Decode(buf[:], s)
	if err != nil || n != HashSize {
		return Hash{}, fmt.Errorf("hash %q is not %d bytes of standard base64", s, HashSize)
	}
	return Hash(buf[:HashSize]), nil
}

// Prover is a log that proves its tree from what it stores (eventlog
// stores are).
type Prover interface {
	HeadReader
	// ConsistencyProof returns the proof that the tree of size1 leaves is
	// a prefix of the tree of size2.
	ConsistencyProof(ctx context.Context, size1, size2 int64) (Proof, error)
}

// CheckConsistent checks that the log p today extends the tree of the
// checkpoint saved earlier: that every event it committed to is still
// there, unchanged and in the same place. It returns the current head.
// The error matches ErrInvalidProof when the log is not an extension of
// it (events rewritten, removed or reordered, or the log cut shorter).
// The saved checkpoint's signature is the caller's to check
// (OpenCheckpoint).
func CheckConsistent(ctx context.Context, p Prover, saved Checkpoint) (Head, error) {
	cur, err := p.TreeHead(ctx)
	if err != nil {
		return Head{}, fmt.Errorf("check against checkpoint: %w", err)
	}
	if cur.Size < saved.Size {
		return cur, fmt.Errorf("check against checkpoint: %w: the log has %d events, fewer than the %d of the checkpoint", ErrInvalidProof, cur.Size, saved.Size)
	}
	pf, err := p.ConsistencyProof(ctx, saved.Size, cur.Size)
	if err != nil {
		return cur, fmt.Errorf("check against checkpoint: %w", err)
	}
	if err := VerifyConsistency(saved.Head, cur, pf); err != nil {
		return cur, fmt.Errorf("check against checkpoint: %w", err)
	}
	return cur, nil
}
