package transfer

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestEarlyWriteback checks that the wrapper passes every byte through in
// order and starts writeback of each full writebackChunk it completes.
func TestEarlyWriteback(t *testing.T) {
	for _, c := range []struct {
		name        string
		size, piece int
		wantStarted bool
	}{
		{"below one chunk", writebackChunk - 1, 4096, false},
		{"exactly one chunk", writebackChunk, 1 << 20, true},
		{"uneven pieces", 2*writebackChunk + 12345, 999983, true},
		{"one write of several chunks", 3*writebackChunk + 5, 3*writebackChunk + 5, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "out"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			data := randBytes(50, c.size)
			w := newEarlyWriteback(f)
			var lastStart int64
			for off := 0; off < len(data); off += c.piece {
				n, err := w.Write(data[off:min(off+c.piece, len(data))])
				if err != nil || n != min(c.piece, len(data)-off) {
					t.Fatalf("Write at %d = %d, %v", off, n, err)
				}
				// Writeback starts at the end of a write(2) piece: never
				// backwards, never beyond what was written.
				if w.started < lastStart || w.started > w.off {
					t.Fatalf("writeback started up to %d after writing %d (before: %d)", w.started, w.off, lastStart)
				}
				if w.off-w.started >= writebackChunk {
					t.Fatalf("%d bytes written without starting writeback", w.off-w.started)
				}
				lastStart = w.started
			}
			if started := w.started > 0; started != c.wantStarted {
				t.Errorf("writeback started for %d bytes of %d; want started = %v", w.started, len(data), c.wantStarted)
			}
			got, err := os.ReadFile(f.Name())
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("file holds %d bytes (%v), not the %d written", len(got), err, len(data))
			}
		})
	}
}
