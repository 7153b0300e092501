package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
)

// memStore is an in-memory BlobStore with fault injection and counters.
type memStore struct {
	mu    sync.Mutex
	blobs map[content.Digest][]byte

	putCalls     int // every Put call, failed or not
	putOK        int // successful Puts that stored a new blob
	missingCalls int
	getCalls     int
	inFlight     int
	maxInFlight  int

	// failPut, if set, is called with the 1-based Put call number before
	// anything else; a non-nil error fails that call.
	failPut func(call int, d content.Digest) error
	// failMissing likewise for Missing.
	failMissing func(call int) error
	// failGet likewise for Get.
	failGet func(call int, d content.Digest) error
	// afterPut is called after each successful Put, outside the lock.
	afterPut func(stored int)
}

func newMemStore() *memStore { return &memStore{blobs: map[content.Digest][]byte{}} }

// tempErr is a retryable error.
type tempErr struct{ msg string }

func (e tempErr) Error() string   { return e.msg }
func (e tempErr) Temporary() bool { return true }

func (s *memStore) Missing(ctx context.Context, ds []content.Digest) ([]content.Digest, error) {
	s.mu.Lock()
	s.missingCalls++
	call := s.missingCalls
	s.mu.Unlock()
	if s.failMissing != nil {
		if err := s.failMissing(call); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []content.Digest
	for _, d := range ds {
		if _, ok := s.blobs[d]; !ok {
			out = append(out, d)
		}
	}
	return out, nil
}

func (s *memStore) Put(ctx context.Context, d content.Digest, size int64, r io.Reader) error {
	s.mu.Lock()
	s.putCalls++
	call := s.putCalls
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()
	if s.failPut != nil {
		if err := s.failPut(call, d); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if got := content.FromBytes(b); int64(len(b)) != size || got != d {
		return &content.MismatchError{Expected: d, Actual: got, ExpectedSize: size, ActualSize: int64(len(b))}
	}
	s.mu.Lock()
	_, had := s.blobs[d]
	if !had {
		s.blobs[d] = b
		s.putOK++
	}
	stored := s.putOK
	s.mu.Unlock()
	if s.afterPut != nil && !had {
		s.afterPut(stored)
	}
	return nil
}

func (s *memStore) Get(ctx context.Context, d content.Digest, rng *content.Range) (io.ReadCloser, error) {
	s.mu.Lock()
	s.getCalls++
	call := s.getCalls
	b, ok := s.blobs[d]
	s.mu.Unlock()
	if s.failGet != nil {
		if err := s.failGet(call, d); err != nil {
			return nil, err
		}
	}
	if !ok {
		return nil, fmt.Errorf("blob %s: %w", d.Short(), storage.ErrNotFound)
	}
	if rng != nil {
		if err := rng.Validate(int64(len(b))); err != nil {
			return nil, err
		}
		b = b[rng.Start : rng.End+1]
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// corrupt flips a byte of the stored blob d.
func (s *memStore) corrupt(d content.Digest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := bytes.Clone(s.blobs[d])
	b[len(b)/2] ^= 0xff
	s.blobs[d] = b
}

// set stores raw bytes under a digest, bypassing verification.
func (s *memStore) set(d content.Digest, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blobs[d] = b
}

func (s *memStore) has(d content.Digest) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.blobs[d]
	return ok
}

var errBroken = errors.New("store is broken")

// prng is a deterministic pseudo-random reader of n bytes (xorshift64*),
// so large inputs need not sit in memory.
type prng struct {
	x uint64
	n int64
}

func newPRNG(seed uint64, n int64) *prng {
	return &prng{x: (seed+1)*0x9e3779b97f4a7c15 | 1, n: n} // distinct seeds, distinct streams
}

func (p *prng) Read(b []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n {
		b = b[:p.n]
	}
	i := 0
	for ; i+8 <= len(b); i += 8 {
		p.x ^= p.x >> 12
		p.x ^= p.x << 25
		p.x ^= p.x >> 27
		v := p.x * 0x2545f4914f6cdd1d
		b[i], b[i+1], b[i+2], b[i+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		b[i+4], b[i+5], b[i+6], b[i+7] = byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56)
	}
	for ; i < len(b); i++ {
		p.x ^= p.x >> 12
		p.x ^= p.x << 25
		p.x ^= p.x >> 27
		b[i] = byte(p.x * 0x2545f4914f6cdd1d)
	}
	p.n -= int64(len(b))
	return len(b), nil
}

func randBytes(seed uint64, n int) []byte {
	b, err := io.ReadAll(newPRNG(seed, int64(n)))
	if err != nil {
		panic(err)
	}
	return b
}
