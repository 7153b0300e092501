package tlog

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

// ErrBadSignature: a checkpoint is not signed by the expected key.
var ErrBadSignature = errors.New("checkpoint signature does not verify")

// MaxCheckpointSize bounds the signed checkpoints OpenCheckpoint accepts.
const MaxCheckpointSize = 16 << 10

// Checkpoint is a log's tree head under its origin (C2SP tlog-checkpoint:
// the origin line, the tree size, the root hash in base64).
type Checkpoint struct {
	Origin string
	Head
}

// Key is a log's ed25519 signing key, named by the log's origin.
type Key struct {
	signer   note.Signer
	verifier string
}

// GenerateKey creates a new signing key for the log origin and writes it
// to path with mode 0600. It refuses to replace an existing file, and the
// key appears at path complete or not at all (it is written to a
// temporary file in the same directory, synced, then linked into place).
func GenerateKey(path, origin string) (*Key, error) {
	if !validOrigin(origin) {
		return nil, fmt.Errorf("generate checkpoint key: %w: origin %q must be non-empty, without spaces or '+'", ErrMalformed, origin)
	}
	skey, _, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return nil, fmt.Errorf("generate checkpoint key: %w", err)
	}
	k, err := parseKey(skey)
	if err != nil {
		return nil, fmt.Errorf("generate checkpoint key: %w", err)
	}
	if err := writeNew(path, []byte(skey+"\n")); err != nil {
		return nil, fmt.Errorf("generate checkpoint key: %w", err)
	}
	return k, nil
}

// writeNew writes b to a new file at path, mode 0600, atomically.
func writeNew(path string, b []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".key-*")
	if err != nil {
		return err
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return err
	}
	if _, err := f.Write(b); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Link(f.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists; remove it first to replace the key (checkpoints signed with it then fail to verify)", path)
		}
		return err
	}
	return nil
}

// LoadKey reads the signing key GenerateKey wrote to path. On Unix it
// refuses a file that group or others may read.
func LoadKey(path string) (*Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load checkpoint key: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("load checkpoint key: %w", err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("load checkpoint key %s: mode %v lets others read the private key; chmod 600 it", path, st.Mode().Perm())
	}
	if st.Size() > 1024 {
		return nil, fmt.Errorf("load checkpoint key %s: %w: %d bytes is too long for a key", path, ErrMalformed, st.Size())
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("load checkpoint key %s: %w", path, err)
	}
	k, err := parseKey(strings.TrimSuffix(string(b), "\n"))
	if err != nil {
		return nil, fmt.Errorf("load checkpoint key %s: %w", path, err)
	}
	return k, nil
}

// parseKey reads a note signer key ("PRIVATE+KEY+name+hash+base64") and
// derives its verifier key.
func parseKey(skey string) (*Key, error) {
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("%w: not a note signer key: %v", ErrMalformed, err)
	}
	// NewSigner checked the form PRIVATE+KEY+name+hash+base64(1 || seed).
	fields := strings.SplitN(skey, "+", 5)
	raw, err := base64.StdEncoding.DecodeString(fields[len(fields)-1])
	if err != nil || len(raw) != 1+ed25519.SeedSize {
		return nil, fmt.Errorf("%w: not an ed25519 note signer key", ErrMalformed)
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(s.Name(), pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return &Key{signer: s, verifier: vkey}, nil
}

// Origin returns the log origin the key signs for (its note key name).
func (k *Key) Origin() string { return k.signer.Name() }

// VerifierKey returns the public key in note verifier form,
// "origin+hash+base64", for whoever checks the log's checkpoints.
func (k *Key) VerifierKey() string { return k.verifier }

// Sign returns h as a checkpoint under the key's origin, signed.
func (k *Key) Sign(h Head) ([]byte, error) {
	if h.Size < 0 {
		return nil, fmt.Errorf("sign checkpoint: %w: size %d", ErrSize, h.Size)
	}
	body := log.Checkpoint{Origin: k.Origin(), Size: uint64(h.Size), Hash: h.Root[:]}.Marshal()
	b, err := note.Sign(&note.Note{Text: string(body)}, k.signer)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	return b, nil
}

// HeadReader returns a log's current tree head (eventlog stores do).
type HeadReader interface {
	TreeHead(ctx context.Context) (Head, error)
}

// SignedCheckpoint returns the current checkpoint of the log src, signed
// with k, and the head it is for.
func SignedCheckpoint(ctx context.Context, src HeadReader, k *Key) ([]byte, Head, error) {
	h, err := src.TreeHead(ctx)
	if err != nil {
		return nil, Head{}, fmt.Errorf("checkpoint: %w", err)
	}
	b, err := k.Sign(h)
	if err != nil {
		return nil, Head{}, err
	}
	return b, h, nil
}

// OpenCheckpoint verifies that b is a checkpoint signed by the key whose
// note verifier form is vkey, and parses it. The origin must be the key's
// name. Errors match ErrBadSignature (not signed by that key, or altered)
// or ErrMalformed.
func OpenCheckpoint(b []byte, vkey string) (Checkpoint, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("open checkpoint: %w: verifier key: %v", ErrMalformed, err)
	}
	if len(b) > MaxCheckpointSize {
		return Checkpoint{}, fmt.Errorf("open checkpoint: %w: %d bytes is longer than %d", ErrMalformed, len(b), MaxCheckpointSize)
	}
	n, err := note.Open(b, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		if errors.As(err, &unverified) || errors.As(err, &invalid) {
			return Checkpoint{}, fmt.Errorf("open checkpoint: %w: %v (want a signature by %s)", ErrBadSignature, err, v.Name())
		}
		return Checkpoint{}, fmt.Errorf("open checkpoint: %w: %v", ErrMalformed, err)
	}
	// note.Open decodes signatures with a base64 decoder that ignores the
	// unused bits of the last character, so one signature has four
	// spellings; accept one, as for the body.
	for _, sig := range append(n.Sigs, n.UnverifiedSigs...) {
		if _, err := base64.StdEncoding.Strict().DecodeString(sig.Base64); err != nil {
			return Checkpoint{}, fmt.Errorf("open checkpoint: %w: the signature by %s is not in canonical base64", ErrMalformed, sig.Name)
		}
	}
	return parseBody(n.Text, v.Name())
}

// parseBody parses a verified checkpoint body, strictly: the origin (which
// must be origin), the size in canonical decimal, the root hash in
// canonical base64, then optional extension lines.
func parseBody(text, origin string) (Checkpoint, error) {
	var c log.Checkpoint
	if _, err := c.Unmarshal([]byte(text)); err != nil {
		return Checkpoint{}, fmt.Errorf("open checkpoint: %w: %v", ErrMalformed, err)
	}
	if c.Origin != origin {
		return Checkpoint{}, fmt.Errorf("open checkpoint: %w: origin %q, want %q", ErrBadSignature, c.Origin, origin)
	}
	if len(c.Hash) != HashSize {
		return Checkpoint{}, fmt.Errorf("open checkpoint: %w: root hash is %d bytes, want %d", ErrMalformed, len(c.Hash), HashSize)
	}
	if c.Size > math.MaxInt64 {
		return Checkpoint{}, fmt.Errorf("open checkpoint: %w: size %d", ErrSize, c.Size)
	}
	// Unmarshal also accepts "+5" or "05" for 5 and unpadded base64: a
	// checkpoint has one encoding.
	if canon := c.Marshal(); !strings.HasPrefix(text, string(canon)) {
		return Checkpoint{}, fmt.Errorf("open checkpoint: %w: size or root hash not in canonical form", ErrMalformed)
	}
	return Checkpoint{Origin: c.Origin, Head: Head{Size: int64(c.Size), Root: Hash(c.Hash)}}, nil
}

func validOrigin(s string) bool {
	return s != "" && len(s) <= 255 && !strings.ContainsAny(s, "+ \t\n\r") && strings.IndexFunc(s, func(r rune) bool { return r < 0x21 || r > 0x7e }) < 0
}
