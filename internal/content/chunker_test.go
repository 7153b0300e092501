package content

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
)

// pseudoRandom returns n deterministic pseudo-random bytes (xorshift64*),
// independent of any library's generator so golden values never drift.
func pseudoRandom(seed uint64, n int) []byte {
	b := make([]byte, n)
	x := seed | 1
	for i := 0; i < n; i += 8 {
		x ^= x >> 12
		x ^= x << 25
		x ^= x >> 27
		v := x * 0x2545f4914f6cdd1d
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// chunkAll chunks r with p and returns the chunks' offsets and digests.
func chunkAll(t testing.TB, r io.Reader, p ChunkerParams) (offsets []int64, digests []Digest) {
	t.Helper()
	c, err := NewChunker(r, p)
	if err != nil {
		t.Fatal(err)
	}
	var next int64
	for {
		ch, err := c.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ch.Offset != next {
			t.Fatalf("chunk at offset %d, want %d (chunks must be contiguous)", ch.Offset, next)
		}
		next += int64(len(ch.Data))
		offsets = append(offsets, ch.Offset)
		digests = append(digests, FromBytes(ch.Data))
	}
	return offsets, digests
}

// TestChunkerGolden pins the boundaries of fastcdc-gear-v1 on a fixed input.
// If it fails, the gear table or the cut rule changed: that breaks
// deduplication against everything already stored. Use a new algorithm name
// instead of updating these numbers.
func TestChunkerGolden(t *testing.T) {
	data := pseudoRandom(42, 48<<20)
	got, _ := chunkAll(t, bytes.NewReader(data), DefaultChunkerParams())
	want := []int64{0, 3266543, 9956959, 10546975, 11898256, 12460236, 13055044,
		16660873, 19647033, 23771174, 24541958, 27339766, 28723184, 31883991,
		32898602, 35950572, 38486922, 43516042, 45093313, 47214346, 48265507,
		48868984}
	if !slices.Equal(got, want) {
		t.Fatalf("boundaries changed:\n got %#v\nwant %#v", got, want)
	}
	s, _ := NewSplitter(DefaultChunkerParams())
	g := s.gear
	if g[0] != 0x8d1a659419810a38 || g[255] != 0x2aac805fff9c5e8d {
		t.Fatalf("gear table changed: t[0]=%#x t[255]=%#x", g[0], g[255])
	}
}

func TestChunkerSizes(t *testing.T) {
	p := DefaultChunkerParams()
	zeros := make([]byte, 40<<20)
	for _, tc := range []struct {
		name       string
		data       []byte
		wantChunks int // -1: don't check the count
	}{
		{"empty", nil, 0},
		{"one byte", []byte{7}, 1},
		{"below min", pseudoRandom(1, int(p.Min)-1), 1},
		{"exactly min", pseudoRandom(2, int(p.Min)), 1},
		{"zeros cut at max", zeros, 5},
		{"random 40 MiB", pseudoRandom(3, 40<<20), -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			offs, _ := chunkAll(t, bytes.NewReader(tc.data), p)
			if tc.wantChunks >= 0 && len(offs) != tc.wantChunks {
				t.Fatalf("got %d chunks, want %d", len(offs), tc.wantChunks)
			}
			for i, o := range offs {
				end := int64(len(tc.data))
				if i+1 < len(offs) {
					end = offs[i+1]
				}
				size := end - o
				if size > p.Max || size <= 0 {
					t.Errorf("chunk %d has size %d, outside (0, %d]", i, size, p.Max)
				}
				if i+1 < len(offs) && size < p.Min {
					t.Errorf("chunk %d (not last) has size %d < min %d", i, size, p.Min)
				}
			}
			if tc.wantChunks < 0 {
				avg := int64(len(tc.data)) / int64(len(offs))
				if avg < p.Avg/2 || avg > p.Avg*2 {
					t.Errorf("average chunk %d is far from the target %d", avg, p.Avg)
				}
			}
		})
	}
}

// TestChunkerEditLocality checks the point of content-defined chunking: an
// edit in the middle of a file changes only the chunks around it.
func TestChunkerEditLocality(t *testing.T) {
	p := DefaultChunkerParams()
	orig := pseudoRandom(7, 64<<20)
	_, base := chunkAll(t, bytes.NewReader(orig), p)
	mid := len(orig) / 2

	overwrite := slices.Clone(orig)
	copy(overwrite[mid:], pseudoRandom(8, 1<<20))
	insert := slices.Concat(orig[:mid], []byte("inserted bytes shift everything after them"), orig[mid:])
	del := slices.Concat(orig[:mid], orig[mid+12345:])

	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"overwrite 1 MiB", overwrite},
		{"insert 43 bytes", insert},
		{"delete 12345 bytes", del},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, edited := chunkAll(t, bytes.NewReader(tc.data), p)
			have := map[Digest]bool{}
			for _, d := range base {
				have[d] = true
			}
			changed := 0
			for _, d := range edited {
				if !have[d] {
					changed++
				}
			}
			t.Logf("%d of %d chunks changed", changed, len(edited))
			// The edit touches at most two chunks (the one holding it and,
			// when it moves a boundary, the next).
			if changed > 2 {
				t.Fatalf("%d of %d chunks changed, want <= 2", changed, len(edited))
			}
			if len(edited) < 16 {
				t.Fatalf("only %d chunks: input too small for the test to mean anything", len(edited))
			}
		})
	}
}

// shortReader returns reads of varying small sizes, to check that the
// boundaries do not depend on how the input arrives.
type shortReader struct {
	r io.Reader
	n uint
}

func (s *shortReader) Read(p []byte) (int, error) {
	s.n = s.n*31 + 7
	k := 1 + int(s.n%70000)
	if k < len(p) {
		p = p[:k]
	}
	return s.r.Read(p)
}

func TestChunkerIndependentOfReadSizes(t *testing.T) {
	p := DefaultChunkerParams()
	data := pseudoRandom(9, 24<<20)
	want, _ := chunkAll(t, bytes.NewReader(data), p)
	got, _ := chunkAll(t, &shortReader{r: bytes.NewReader(data)}, p)
	if !slices.Equal(got, want) {
		t.Fatalf("boundaries depend on read sizes:\n got %v\nwant %v", got, want)
	}
	// Split over the whole buffer gives the same boundaries too.
	s, err := NewSplitter(p)
	if err != nil {
		t.Fatal(err)
	}
	var viaSplit []int64
	for off := 0; off < len(data); {
		viaSplit = append(viaSplit, int64(off))
		off += s.Split(data[off:])
	}
	if !slices.Equal(viaSplit, want) {
		t.Fatalf("Split disagrees with Chunker:\n got %v\nwant %v", viaSplit, want)
	}
}

type errReader struct {
	data []byte
	err  error
}

func (e *errReader) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

func TestChunkerReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	c, err := NewChunker(&errReader{data: pseudoRandom(4, 3<<20), err: boom}, DefaultChunkerParams())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // the error is sticky
		if _, err := c.Next(); !errors.Is(err, boom) {
			t.Fatalf("call %d: got %v, want the read error", i, err)
		}
	}
}

func TestChunkerParamsValidate(t *testing.T) {
	ok := DefaultChunkerParams()
	for _, tc := range []struct {
		name    string
		mod     func(*ChunkerParams)
		wantErr bool
		// splitErr: valid parameters that NewSplitter still refuses.
		splitErr bool
	}{
		{"default", func(*ChunkerParams) {}, false, false},
		{"small", func(p *ChunkerParams) { p.Min, p.Avg, p.Max = 64, 256, 1024 }, false, false},
		{"future algorithm", func(p *ChunkerParams) { p.Algorithm = "fastcdc-gear-v2" }, false, true},
		{"empty algorithm", func(p *ChunkerParams) { p.Algorithm = "" }, true, true},
		{"bad algorithm chars", func(p *ChunkerParams) { p.Algorithm = "../x" }, true, true},
		{"min too small", func(p *ChunkerParams) { p.Min = 63 }, true, true},
		{"avg below min", func(p *ChunkerParams) { p.Avg = p.Min - 1 }, true, true},
		{"max below avg", func(p *ChunkerParams) { p.Max = p.Avg - 1 }, true, true},
		{"max too large", func(p *ChunkerParams) { p.Max = MaxChunkSize + 1 }, true, true},
		{"avg not power of two", func(p *ChunkerParams) { p.Avg = 3 << 20 }, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ok
			tc.mod(&p)
			err := p.Validate()
			if (err != nil) != tc.wantErr {
				t.Fatalf("Validate: got %v, want error %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidChunkerParams) {
				t.Fatalf("error %v does not wrap ErrInvalidChunkerParams", err)
			}
			if _, err := NewSplitter(p); (err != nil) != tc.splitErr {
				t.Fatalf("NewSplitter: got %v, want error %v", err, tc.splitErr)
			}
			if _, err := NewChunker(bytes.NewReader(nil), p); (err != nil) != tc.splitErr {
				t.Fatalf("NewChunker: got %v, want error %v", err, tc.splitErr)
			}
		})
	}
}

func BenchmarkSplit(b *testing.B) {
	p := DefaultChunkerParams()
	data := pseudoRandom(5, 64<<20)
	s, err := NewSplitter(p)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for off := 0; off < len(data); {
			off += s.Split(data[off:])
			n++
		}
		if n == 0 {
			b.Fatal("no chunks")
		}
	}
}

func BenchmarkChunker(b *testing.B) {
	p := DefaultChunkerParams()
	data := pseudoRandom(6, 64<<20)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		c, err := NewChunker(bytes.NewReader(data), p)
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := c.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// ExampleChunker shows the streaming API.
func ExampleChunker() {
	c, err := NewChunker(bytes.NewReader(make([]byte, 20<<20)), DefaultChunkerParams())
	if err != nil {
		panic(err)
	}
	for {
		ch, err := c.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		fmt.Println(ch.Offset, len(ch.Data), FromBytes(ch.Data).Short())
	}
	// Output:
	// 0 8388608 2daeb1f36095
	// 8388608 8388608 2daeb1f36095
	// 16777216 4194304 bb9f8df61474
}

// splitOneChain is the reference gear scan: one hash chain, one byte at a
// time, exactly as fastcdc-gear-v1 is defined. Split's two-chain scan must
// find the same boundaries.
func splitOneChain(s *Splitter, data []byte) int {
	n := len(data)
	if n <= int(s.p.Min) {
		return n
	}
	n = min(n, int(s.p.Max))
	var h uint64
	for i := int(s.p.Min); i < n; i++ {
		h = (h << 1) + s.gear[data[i]]
		if h&s.mask == 0 {
			return i + 1
		}
	}
	return n
}

// checkSplitMatchesReference cuts data with both scans and fails at the
// first boundary where they differ.
// lane > 0 overrides the interleaved scan's block size, so that small
// inputs run many rounds and cuts fall on block edges often.
func checkSplitMatchesReference(t testing.TB, p ChunkerParams, lane int, data []byte) {
	t.Helper()
	s, err := NewSplitter(p)
	if err != nil {
		t.Fatal(err)
	}
	if lane > 0 {
		s.lane = lane
	}
	for off := 0; off < len(data); {
		got, want := s.Split(data[off:]), splitOneChain(s, data[off:])
		if got != want {
			t.Fatalf("params %+v, lane %d, offset %d of %d: Split = %d, one-chain reference = %d", p, s.lane, off, len(data), got, want)
		}
		off += got
	}
}

// TestSplitMatchesOneChain checks the interleaved scan against the
// reference where it matters: cuts in the first block of a round, in the
// second, in both, right at block edges, none at all (Max), and inputs
// ending mid-round. Low-entropy inputs give long runs of equal hashes.
func TestSplitMatchesOneChain(t *testing.T) {
	params := []ChunkerParams{
		DefaultChunkerParams(),
		{Algorithm: AlgorithmFastCDCGearV1, Min: 64, Avg: 4 << 10, Max: 256 << 10},
		{Algorithm: AlgorithmFastCDCGearV1, Min: 4 << 10, Avg: 16 << 10, Max: 64 << 10},
		{Algorithm: AlgorithmFastCDCGearV1, Min: 64, Avg: 1 << 20, Max: 1 << 20}, // mostly cut at Max
	}
	inputs := map[string][]byte{
		"random":   pseudoRandom(11, 24<<20),
		"zeros":    make([]byte, 3<<20),
		"periodic": bytes.Repeat([]byte("artstore-"), 300_000),
	}
	mixed := pseudoRandom(12, 4<<20)
	for i := 1 << 20; i < 3<<20; i++ {
		mixed[i] = byte(i % 7) // a long low-entropy stretch inside random data
	}
	inputs["mixed"] = mixed
	for _, p := range params {
		for name, data := range inputs {
			t.Run(fmt.Sprintf("%s/min=%d,avg=%d,max=%d", name, p.Min, p.Avg, p.Max), func(t *testing.T) {
				checkSplitMatchesReference(t, p, 0, data)
			})
		}
	}
	// Small lanes: many rounds per chunk, and with Avg near the lane size
	// cuts land on every position of a round, including each block's
	// first byte, where the second chain's warm-up must be exact.
	for _, lane := range []int{64, 65, 100, 256} {
		for _, avg := range []int64{64, 128, 512} {
			p := ChunkerParams{Algorithm: AlgorithmFastCDCGearV1, Min: 64, Avg: avg, Max: 64 * avg}
			checkSplitMatchesReference(t, p, lane, pseudoRandom(uint64(lane)*uint64(avg), 1<<20))
		}
	}
	// Every input length around the round size, so the one-byte tail
	// after the last whole round is exercised at each length.
	p := ChunkerParams{Algorithm: AlgorithmFastCDCGearV1, Min: 64, Avg: 1 << 20, Max: 1 << 20}
	data := pseudoRandom(13, 4*splitLane+200)
	for n := 64 + 2*splitLane - 100; n <= len(data); n += 37 {
		checkSplitMatchesReference(t, p, 0, data[:n])
	}
}

// FuzzSplitMatchesOneChain compares the interleaved scan with the
// reference on arbitrary bytes and small parameters (so cuts are frequent
// and land anywhere in a round).
func FuzzSplitMatchesOneChain(f *testing.F) {
	f.Add(uint16(64), uint8(8), uint8(2), uint16(64), uint64(1), 40_000)
	f.Add(uint16(100), uint8(12), uint8(4), uint16(300), uint64(7), 200_000)
	f.Add(uint16(64), uint8(14), uint8(1), uint16(8192), uint64(3), 70_000)
	f.Fuzz(func(t *testing.T, min uint16, avgBits, maxMul uint8, lane uint16, seed uint64, n int) {
		avg := int64(1) << (6 + avgBits%12) // 64 B .. 128 KiB
		p := ChunkerParams{Algorithm: AlgorithmFastCDCGearV1, Min: max(64, int64(min)), Avg: avg}
		p.Avg = max(p.Avg, p.Min)
		for p.Avg&(p.Avg-1) != 0 {
			p.Avg &= p.Avg - 1
			p.Avg <<= 1
		}
		p.Max = p.Avg * int64(1+maxMul%8)
		if n < 0 || n > 1<<20 {
			n = 1 << 20
		}
		data := pseudoRandom(seed, n)
		if seed%3 == 0 { // lower entropy: only a few distinct bytes
			for i := range data {
				data[i] &= 3
			}
		}
		checkSplitMatchesReference(t, p, max(64, int(lane)), data)
	})
}
