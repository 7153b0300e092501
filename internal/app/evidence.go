package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/artifact-store/artstore/internal/tlog"
	"github.com/artifact-store/artstore/pkg/api"
)

// CheckpointKeyFile is the default name of a store's checkpoint signing
// key, in the store directory.
const CheckpointKeyFile = "checkpoint.key"

// ErrNoKey: the store has no checkpoint signing key configured.
var ErrNoKey = errors.New("no checkpoint signing key")

// NewOrigin returns a fresh log origin: "artstore/" and 128 random bits
// in hex. The origin is the key's name and the first line of every
// checkpoint, so it names one store's log and no other.
func NewOrigin() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("log origin: %w", err)
	}
	return "artstore/" + hex.EncodeToString(b[:]), nil
}

// EnsureKey loads the checkpoint signing key at path, creating it (mode
// 0600, with a fresh origin) when there is none; created says which. Two
// processes that race to create it end up with the same key: the loser
// of the race loads the winner's.
func EnsureKey(path string) (k *tlog.Key, created bool, err error) {
	k, err = tlog.LoadKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	origin, err := NewOrigin()
	if err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, false, fmt.Errorf("create checkpoint key: %w", err)
	}
	k, err = tlog.GenerateKey(path, origin)
	if err != nil {
		if k, lerr := tlog.LoadKey(path); lerr == nil {
			return k, false, nil
		}
		return nil, false, err
	}
	return k, true, nil
}

// keyring holds a Service's signing key, loaded (or created) at first use.
type keyring struct {
	path string
	mu   sync.Mutex
	key  *tlog.Key
}

func (r *keyring) get() (*tlog.Key, error) {
	if r == nil || r.path == "" {
		return nil, fmt.Errorf("%w: this store was opened without one (set checkpoint_key / --checkpoint-key)", ErrNoKey)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.key != nil {
		return r.key, nil
	}
	k, _, err := EnsureKey(r.path)
	if err != nil {
		return nil, err
	}
	r.key = k
	return k, nil
}

// LogKey returns the public key the store signs its checkpoints with.
func (s *Service) LogKey(ctx context.Context) (api.LogKey, error) {
	k, err := s.keys.get()
	if err != nil {
		return api.LogKey{}, fmt.Errorf("log key: %w", err)
	}
	return api.LogKey{Origin: k.Origin(), VerifierKey: k.VerifierKey()}, nil
}

// Checkpoint returns the log's current tree head, signed.
func (s *Service) Checkpoint(ctx context.Context) (api.Checkpoint, error) {
	k, err := s.keys.get()
	if err != nil {
		return api.Checkpoint{}, fmt.Errorf("checkpoint: %w", err)
	}
	b, h, err := tlog.SignedCheckpoint(ctx, s.log, k)
	if err != nil {
		return api.Checkpoint{}, err
	}
	return api.Checkpoint{Origin: k.Origin(), Size: h.Size, Root: h.Root.String(), Signed: string(b)}, nil
}

// InclusionProof proves that event seq is in the log's tree of size
// events (size 0: the current tree).
func (s *Service) InclusionProof(ctx context.Context, seq, size int64) (api.InclusionProof, error) {
	if size == 0 {
		h, err := s.log.TreeHead(ctx)
		if err != nil {
			return api.InclusionProof{}, fmt.Errorf("inclusion proof: %w", err)
		}
		size = h.Size
	}
	p, err := s.log.InclusionProof(ctx, seq, size)
	if err != nil {
		return api.InclusionProof{}, err
	}
	ev, err := s.log.Event(ctx, seq)
	if err != nil {
		return api.InclusionProof{}, fmt.Errorf("inclusion proof of event %d: %w", seq, err)
	}
	return api.InclusionProof{Seq: seq, Size: size, EventHash: ev.Hash, Proof: proofStrings(p)}, nil
}

// ConsistencyProof proves that the log's tree of old events is a prefix
// of its tree of new events (new 0: the current tree).
func (s *Service) ConsistencyProof(ctx context.Context, old, new int64) (api.ConsistencyProof, error) {
	if new == 0 {
		h, err := s.log.TreeHead(ctx)
		if err != nil {
			return api.ConsistencyProof{}, fmt.Errorf("consistency proof: %w", err)
		}
		new = h.Size
	}
	p, err := s.log.ConsistencyProof(ctx, old, new)
	if err != nil {
		return api.ConsistencyProof{}, err
	}
	return api.ConsistencyProof{Old: old, New: new, Proof: proofStrings(p)}, nil
}

func proofStrings(p tlog.Proof) []string {
	out := make([]string, len(p))
	for i, h := range p {
		out[i] = h.String()
	}
	return out
}

// ParseWireProof decodes the hashes of a wire proof. Errors match
// tlog.ErrMalformed.
func ParseWireProof(hs []string) (tlog.Proof, error) {
	if len(hs) > tlog.MaxProofLen {
		return nil, fmt.Errorf("%w: a proof of %d hashes is longer than any proof", tlog.ErrMalformed, len(hs))
	}
	b := make([]byte, 0, len(hs)*45)
	for _, h := range hs {
		b = append(append(b, h...), '\n')
	}
	return tlog.ParseProof(b)
}

// CheckCheckpoint checks that the log whose current checkpoint is cur
// extends the log of the checkpoint saved earlier: both must be signed
// by the key vkey, and pf must prove the saved tree a prefix of cur's.
// It is the whole check, done where the checker is (in remote mode, on
// the client, trusting nothing the daemon says that is not signed or
// proved). A log that fails is a report with OK false naming what
// failed; errors are a saved checkpoint or key that cannot be read.
func CheckCheckpoint(saved []byte, vkey string, cur api.Checkpoint, pf api.ConsistencyProof) (api.CheckpointReport, error) {
	old, err := tlog.OpenCheckpoint(saved, vkey)
	if err != nil {
		if errors.Is(err, tlog.ErrBadSignature) {
			return api.CheckpointReport{Problem: "the saved checkpoint is not signed by this key: " + err.Error()}, nil
		}
		return api.CheckpointReport{}, fmt.Errorf("saved checkpoint: %w", err)
	}
	rep := api.CheckpointReport{Origin: old.Origin, SavedSize: old.Size, SavedRoot: old.Root.String(), Size: cur.Size, Root: cur.Root}
	now, err := tlog.OpenCheckpoint([]byte(cur.Signed), vkey)
	if err != nil {
		rep.Problem = "the log's current checkpoint does not verify with the key: " + err.Error()
		return rep, nil
	}
	rep.Size, rep.Root = now.Size, now.Root.String()
	switch {
	case now.Size < old.Size:
		rep.Problem = fmt.Sprintf("the log has %d events, fewer than the %d of the saved checkpoint: it was rolled back or cut short", now.Size, old.Size)
		return rep, nil
	case pf.Old != old.Size || pf.New != now.Size:
		rep.Problem = fmt.Sprintf("the consistency proof is from %d to %d, not from %d to %d", pf.Old, pf.New, old.Size, now.Size)
		return rep, nil
	}
	p, err := ParseWireProof(pf.Proof)
	if err == nil {
		err = tlog.VerifyConsistency(old.Head, now.Head, p)
	}
	if err != nil {
		rep.Problem = fmt.Sprintf("the log of %d events is not an extension of the saved checkpoint's %d events (events were removed, changed or reordered since): %v", now.Size, old.Size, err)
		return rep, nil
	}
	rep.OK = true
	return rep, nil
}
