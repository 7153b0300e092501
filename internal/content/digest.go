// Package content holds artstore's content-addressing primitives: digests,
// object keys, byte ranges, the content-defined chunker and manifests.
//
// It imports nothing else of artstore; every other layer builds on it.
package content

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
)

// Algorithm names a digest algorithm. Only SHA256 is defined today; the type
// exists so another algorithm can be added without changing the Digest API.
type Algorithm string

// SHA256 is the only algorithm artstore writes.
const SHA256 Algorithm = "sha256"

// ErrInvalidDigest is returned (wrapped) by ParseDigest for any malformed input.
var ErrInvalidDigest = errors.New("invalid digest")

// hexLen is the number of lowercase hex characters of each algorithm.
func (a Algorithm) hexLen() int {
	switch a {
	case SHA256:
		return sha256.Size * 2
	default:
		return 0
	}
}

// Available reports whether the algorithm is known to artstore.
func (a Algorithm) Available() bool { return a.hexLen() > 0 }

// New returns a fresh hash.Hash for the algorithm. It panics for an unknown
// algorithm; callers hold only algorithms that came from a parsed Digest.
func (a Algorithm) New() hash.Hash {
	switch a {
	case SHA256:
		return sha256.New()
	default:
		panic("content: unknown digest algorithm " + string(a))
	}
}

// Digest is a content address: an algorithm and the lowercase hex encoding of
// the hash of some bytes. The zero Digest is invalid and prints as "".
//
// Digests are comparable with == and usable as map keys.
type Digest struct {
	alg Algorithm
	hex string
}

// ParseDigest parses the canonical form "sha256:<64 lowercase hex>". Parsing
// is strict: the algorithm must be known, the length exact and the hex
// lowercase. Anything else is an error wrapping ErrInvalidDigest; a digest is
// never interpreted as a path.
func ParseDigest(s string) (Digest, error) {
	alg, h, ok := strings.Cut(s, ":")
	if !ok {
		return Digest{}, fmt.Errorf("%w %q: want <algorithm>:<hex>, e.g. sha256:%s", ErrInvalidDigest, clip(s), strings.Repeat("0", 64))
	}
	a := Algorithm(alg)
	if !a.Available() {
		return Digest{}, fmt.Errorf("%w %q: unknown algorithm %q (supported: sha256)", ErrInvalidDigest, clip(s), clip(alg))
	}
	if len(h) != a.hexLen() {
		return Digest{}, fmt.Errorf("%w %q: %s needs %d hex characters, got %d", ErrInvalidDigest, clip(s), a, a.hexLen(), len(h))
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return Digest{}, fmt.Errorf("%w %q: character %d is not lowercase hex", ErrInvalidDigest, clip(s), len(alg)+1+i)
		}
	}
	return Digest{alg: a, hex: h}, nil
}

// MustParseDigest is ParseDigest for constants in tests; it panics on error.
func MustParseDigest(s string) Digest {
	d, err := ParseDigest(s)
	if err != nil {
		panic(err)
	}
	return d
}

// NewDigest builds a digest from an algorithm and a raw hash sum.
func NewDigest(a Algorithm, sum []byte) (Digest, error) {
	if !a.Available() {
		return Digest{}, fmt.Errorf("%w: unknown algorithm %q", ErrInvalidDigest, clip(string(a)))
	}
	if len(sum)*2 != a.hexLen() {
		return Digest{}, fmt.Errorf("%w: %s sum must be %d bytes, got %d", ErrInvalidDigest, a, a.hexLen()/2, len(sum))
	}
	return Digest{alg: a, hex: hex.EncodeToString(sum)}, nil
}

// FromSHA256 returns the digest whose SHA-256 sum is sum.
func FromSHA256(sum [sha256.Size]byte) Digest {
	return Digest{alg: SHA256, hex: hex.EncodeToString(sum[:])}
}

// FromBytes returns the SHA-256 digest of b.
func FromBytes(b []byte) Digest {
	sum := sha256.Sum256(b)
	return Digest{alg: SHA256, hex: hex.EncodeToString(sum[:])}
}

// FromReader digests everything r yields and returns the digest and the
// number of bytes read.
func FromReader(r io.Reader) (Digest, int64, error) {
	dg := NewDigester(SHA256)
	n, err := io.Copy(dg, r)
	if err != nil {
		return Digest{}, n, err
	}
	return dg.Digest(), n, nil
}

// Algorithm returns the digest's algorithm.
func (d Digest) Algorithm() Algorithm { return d.alg }

// Hex returns the lowercase hex encoding of the hash.
func (d Digest) Hex() string { return d.hex }

// IsZero reports whether d is the zero (invalid) digest.
func (d Digest) IsZero() bool { return d.alg == "" }

// String returns the canonical form "sha256:<hex>", or "" for the zero digest.
func (d Digest) String() string {
	if d.IsZero() {
		return ""
	}
	return string(d.alg) + ":" + d.hex
}

// Short returns the first 12 hex characters, for human output.
func (d Digest) Short() string {
	if len(d.hex) < 12 {
		return d.hex
	}
	return d.hex[:12]
}

// Key returns the object key of the digest in every backend:
// "<algorithm>/<hex[0:2]>/<hex[2:4]>/<hex>". It panics on the zero digest,
// which no parsed or computed digest can be.
func (d Digest) Key() string {
	if d.IsZero() {
		panic("content: Key of zero digest")
	}
	return string(d.alg) + "/" + d.hex[0:2] + "/" + d.hex[2:4] + "/" + d.hex
}

// ParseKey is the inverse of Digest.Key: it accepts exactly the layout Key
// produces and returns the digest. Backends use it when listing objects.
func ParseKey(key string) (Digest, error) {
	parts := strings.Split(key, "/")
	if len(parts) != 4 {
		return Digest{}, fmt.Errorf("%w: object key %q is not <alg>/<xx>/<yy>/<hex>", ErrInvalidDigest, clip(key))
	}
	d, err := ParseDigest(parts[0] + ":" + parts[3])
	if err != nil {
		return Digest{}, err
	}
	if parts[1] != d.hex[0:2] || parts[2] != d.hex[2:4] {
		return Digest{}, fmt.Errorf("%w: object key %q has shard directories that do not match its digest", ErrInvalidDigest, clip(key))
	}
	return d, nil
}

// MarshalText implements encoding.TextMarshaler (JSON strings).
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseDigest's rules.
// An empty string yields the zero digest.
func (d *Digest) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Digest{}
		return nil
	}
	p, err := ParseDigest(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// Digester computes a digest over the bytes written to it.
type Digester struct {
	alg Algorithm
	h   hash.Hash
	n   int64
}

// NewDigester returns a Digester for the algorithm.
func NewDigester(a Algorithm) *Digester { return &Digester{alg: a, h: a.New()} }

// Write implements io.Writer; it never fails.
func (g *Digester) Write(p []byte) (int, error) {
	g.n += int64(len(p))
	return g.h.Write(p)
}

// Size returns the number of bytes written so far.
func (g *Digester) Size() int64 { return g.n }

// Digest returns the digest of the bytes written so far.
func (g *Digester) Digest() Digest {
	return Digest{alg: g.alg, hex: hex.EncodeToString(g.h.Sum(nil))}
}

func clip(s string) string {
	const max = 80
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
