package content

import (
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// AlgorithmFastCDCGearV1 names artstore's content-defined chunking
// algorithm: FastCDC-style gear hashing (cut where the top log2(Avg) bits of
// the rolling hash are zero, skipping the first Min bytes of each chunk,
// forcing a cut at Max), over the fixed gear table built by gearTable. The name pins the table and
// the cut rule: any change to either must use a new name, because the same
// input must chunk the same way forever (otherwise re-pushes stop
// deduplicating against what is already stored).
const AlgorithmFastCDCGearV1 = "fastcdc-gear-v1"

// Chunk size bounds.
const (
	// MaxChunkSize is the largest Max any chunker parameters may have, and so
	// the largest chunk a valid manifest may list. It bounds the memory a
	// reader needs per chunk.
	MaxChunkSize = 64 << 20
	// minChunkerMin is the smallest Min accepted: the gear hash looks at a
	// 64-byte window, so smaller minimums make little sense.
	minChunkerMin = 64
)

// ErrInvalidChunkerParams is wrapped by every chunker parameter error.
var ErrInvalidChunkerParams = errors.New("invalid chunker parameters")

// ChunkerParams are the parameters of a content-defined chunker. They are
// recorded in every file manifest, so reads never depend on the parameters
// the current version of artstore would use.
type ChunkerParams struct {
	// Algorithm names the cut rule and gear table, e.g. AlgorithmFastCDCGearV1.
	Algorithm string `json:"algorithm"`
	// Min is the smallest chunk (except the last chunk of an input, which
	// may be shorter).
	Min int64 `json:"min"`
	// Avg sets the cut probability (1/Avg per byte after Min); a power of
	// two. Chunks average about Min + Avg bytes.
	Avg int64 `json:"avg"`
	// Max is the largest chunk; a chunk is cut here if no boundary was found.
	Max int64 `json:"max"`
}

// DefaultChunkerParams returns the parameters artstore chunks with today:
// fastcdc-gear-v1 with a 2 MiB average, 512 KiB minimum and 8 MiB maximum.
func DefaultChunkerParams() ChunkerParams {
	return ChunkerParams{Algorithm: AlgorithmFastCDCGearV1, Min: 512 << 10, Avg: 2 << 20, Max: 8 << 20}
}

// Validate checks that the sizes are sane (Min >= 64, Min <= Avg <= Max <=
// MaxChunkSize, Avg a power of two) and that the algorithm name is
// well formed. It does not require the algorithm to be one this version
// implements (manifests written by a newer chunker remain readable); use
// Splitter for that.
func (p ChunkerParams) Validate() error {
	if p.Algorithm == "" || len(p.Algorithm) > 64 {
		return fmt.Errorf("%w: algorithm name must be 1 to 64 characters", ErrInvalidChunkerParams)
	}
	for i := 0; i < len(p.Algorithm); i++ {
		c := p.Algorithm[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '.' && c != '_' {
			return fmt.Errorf("%w: algorithm name %q may only contain [a-z0-9._-]", ErrInvalidChunkerParams, clip(p.Algorithm))
		}
	}
	switch {
	case p.Min < minChunkerMin:
		return fmt.Errorf("%w: min %d is below %d", ErrInvalidChunkerParams, p.Min, minChunkerMin)
	case p.Avg < p.Min:
		return fmt.Errorf("%w: avg %d is below min %d", ErrInvalidChunkerParams, p.Avg, p.Min)
	case p.Max < p.Avg:
		return fmt.Errorf("%w: max %d is below avg %d", ErrInvalidChunkerParams, p.Max, p.Avg)
	case p.Max > MaxChunkSize:
		return fmt.Errorf("%w: max %d is above the limit of %d", ErrInvalidChunkerParams, p.Max, MaxChunkSize)
	case p.Avg&(p.Avg-1) != 0:
		return fmt.Errorf("%w: avg %d is not a power of two", ErrInvalidChunkerParams, p.Avg)
	}
	return nil
}

// Splitter finds content-defined chunk boundaries. It is the stateless core
// of Chunker, exposed for pipelines that manage their own buffers. A
// Splitter is safe for concurrent use.
type Splitter struct {
	p    ChunkerParams
	mask uint64
	gear [256]uint64
	lane int // scan2's block size: splitLane (tests use small ones)
}

// NewSplitter returns a splitter for the parameters. It fails for invalid
// parameters and for algorithms this version does not implement.
func NewSplitter(p ChunkerParams) (*Splitter, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if p.Algorithm != AlgorithmFastCDCGearV1 {
		return nil, fmt.Errorf("%w: unknown chunking algorithm %q (supported: %s)", ErrInvalidChunkerParams, p.Algorithm, AlgorithmFastCDCGearV1)
	}
	// One mask with log2(Avg) bits: FastCDC without normalization
	// (level 0). Normalized chunking (a stricter mask before Avg, a looser
	// one after) narrows the size distribution but resynchronises worse
	// after an edit, because a boundary found in the loose zone is missed
	// by a chain that reaches it in the strict zone. Measured over 80
	// random 48 MiB files with 1 MiB overwritten in the middle, level 0
	// changed at most 3 chunks (mean 1.5), level 1 up to 5 and level 2
	// more; deduplicating edited copies is what the chunker is for. The
	// mask takes the top bits of the hash, which depend on the whole
	// 64-byte window.
	b := bits.TrailingZeros64(uint64(p.Avg))
	s := &Splitter{
		p:    p,
		mask: ^uint64(0) << (64 - b),
		gear: gearTable(),
		lane: splitLane,
	}
	return s, nil
}

// Params returns the splitter's parameters.
func (s *Splitter) Params() ChunkerParams { return s.p }

// Split returns the length of the chunk that starts at data[0]. data must
// hold at least Max bytes, or else everything that remains of the input:
// the result depends only on data[:Max], so callers can feed it from any
// buffering scheme and get the same boundaries. Split returns 0 only for
// empty data.
func (s *Splitter) Split(data []byte) int {
	n := len(data)
	if n <= int(s.p.Min) {
		return n
	}
	if n > int(s.p.Max) {
		n = int(s.p.Max)
	}
	// Bytes before Min are skipped: no cut can fall there, and the hash
	// forgets bytes more than 64 positions back anyway.
	i := int(s.p.Min)
	cut, h, ok := s.scan2(data[:n], i)
	if ok {
		return cut
	}
	i = n - (n-i)%(2*s.lane)
	for j, c := range data[i:n] {
		h = (h << 1) + s.gear[c]
		if h&s.mask == 0 {
			return i + j + 1
		}
	}
	return n
}

// splitLane is the block each of scan2's two hash chains covers per round;
// at least 64 (the hash window). 8 KiB makes the 64-byte warm-up of the
// second chain cost under 0.4%.
const splitLane = 8 << 10

// scan2 is the gear scan of data[from:] in rounds of two adjacent blocks of
// s.lane bytes whose hash chains run interleaved. One chain is a serial
// dependency (shift, add) per byte; two independent chains let the CPU
// overlap them, for about 1.6× the speed of one, with exactly the same
// cut points: the hash at any position depends only on the 64 bytes up to
// it, so the second block's chain starts 64 bytes early from zero and has
// the true hash by the block's first byte. (The first chain starts at
// from, with h = 0, as the one-chain loop does.)
//
// It returns the first cut in the whole rounds it scanned, if any, else
// the hash after the last of them, from which the caller continues one
// byte at a time over the remaining (n-from) % (2*s.lane) bytes.
func (s *Splitter) scan2(data []byte, from int) (cut int, h uint64, ok bool) {
	gear, mask, lane := &s.gear, s.mask, s.lane
	for q := from; q+2*lane <= len(data); q += 2 * lane {
		a := data[q : q+lane]
		b := data[q+lane : q+2*lane]
		b = b[:len(a)]
		var hb uint64
		for _, c := range data[q+lane-64 : q+lane] {
			hb = (hb << 1) + gear[c]
		}
		ha := h
		cutB := -1
		j := 0
		for ; j < len(a); j++ {
			ha = (ha << 1) + gear[a[j]]
			hb = (hb << 1) + gear[b[j]]
			if ha&mask == 0 {
				return q + j + 1, 0, true
			}
			if hb&mask == 0 {
				cutB = q + lane + j + 1
				j++
				break
			}
		}
		if cutB >= 0 {
			// The second block has a cut; the first may still have an
			// earlier one in the bytes its chain has not reached.
			for ; j < len(a); j++ {
				ha = (ha << 1) + gear[a[j]]
				if ha&mask == 0 {
					return q + j + 1, 0, true
				}
			}
			return cutB, 0, true
		}
		h = hb
	}
	return 0, h, false
}

// gearTable returns the fixed gear table of fastcdc-gear-v1: 256 values of
// the splitmix64 sequence seeded with gearSeed. The table is part of the
// on-disk format; TestChunkerGolden pins it through chunk boundaries.
func gearTable() [256]uint64 {
	const gearSeed = 0x6172747374726531 // "artstre1"
	var t [256]uint64
	x := uint64(gearSeed)
	for i := range t {
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		t[i] = z ^ (z >> 31)
	}
	return t
}

// Chunk is one content-defined chunk of a stream.
type Chunk struct {
	// Offset of the chunk's first byte in the stream.
	Offset int64
	// Data holds the chunk's bytes. It is only valid until the next call
	// to Next: copy it to keep it.
	Data []byte
}

// Chunker cuts a stream into content-defined chunks with bounded memory
// (one buffer of twice the maximum chunk size). It is not safe for
// concurrent use.
type Chunker struct {
	r      io.Reader
	s      *Splitter
	buf    []byte
	lo, hi int   // unconsumed bytes are buf[lo:hi]
	off    int64 // stream offset of buf[lo]
	err    error // sticky read error (io.EOF at the end)
}

// NewChunker returns a chunker over r. It fails for invalid parameters.
func NewChunker(r io.Reader, p ChunkerParams) (*Chunker, error) {
	s, err := NewSplitter(p)
	if err != nil {
		return nil, err
	}
	return &Chunker{r: r, s: s, buf: make([]byte, 2*p.Max)}, nil
}

// Next returns the next chunk, or io.EOF after the last one. An empty input
// yields no chunks. A read error from the underlying reader is returned
// (wrapped) as soon as it happens, and again on every later call: a chunk
// cut short by an error would not be a chunk of the complete input.
func (c *Chunker) Next() (Chunk, error) {
	max := int(c.s.p.Max)
	for c.hi-c.lo < max && c.err == nil {
		if len(c.buf)-c.lo < max {
			// Compact: move the unconsumed tail to the front. This copies
			// less than Max bytes once per Max bytes consumed at most.
			c.hi = copy(c.buf, c.buf[c.lo:c.hi])
			c.lo = 0
		}
		n, err := c.r.Read(c.buf[c.hi:])
		c.hi += n
		if err != nil {
			c.err = err
		}
	}
	if c.err != nil && c.err != io.EOF {
		return Chunk{}, fmt.Errorf("chunker: read input: %w", c.err)
	}
	if c.hi == c.lo {
		return Chunk{}, io.EOF
	}
	n := c.s.Split(c.buf[c.lo:c.hi])
	ch := Chunk{Offset: c.off, Data: c.buf[c.lo : c.lo+n : c.lo+n]}
	c.lo += n
	c.off += int64(n)
	return ch, nil
}
