// Package memtest holds helpers for tests that check memory does not grow
// with the input: the live heap, and manifests of very many chunks that
// cost little to store.
package memtest

import (
	"bytes"
	"runtime"

	"github.com/artifact-store/artstore/internal/content"
)

// LiveHeap returns the bytes of live heap objects after two full
// collections: objects that only a sync.Pool holds (an encoder's buffer)
// survive the first in the pool's victim cache.
func LiveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TinyChunker cuts chunks of 64 to 256 bytes, so that a few MiB of content
// make tens of thousands of chunks.
func TinyChunker() content.ChunkerParams {
	return content.ChunkerParams{Algorithm: content.AlgorithmFastCDCGearV1, Min: 64, Avg: 64, Max: 256}
}

// Repeated returns the content made of block repeated n times and its file
// manifest of n chunks, every one of them block: a manifest as long as a
// large file's whose chunks are one blob to store. block must be 64 to 256
// bytes long (TinyChunker's bounds).
func Repeated(block []byte, n int) (data []byte, m content.Manifest) {
	data = bytes.Repeat(block, n)
	bd := content.FromBytes(block)
	m = content.Manifest{Kind: content.KindFile, Size: int64(len(data)), Digest: content.FromBytes(data),
		Chunker: TinyChunker(), Chunks: make([]content.ChunkRef, n)}
	for i := range m.Chunks {
		m.Chunks[i] = content.ChunkRef{Digest: bd, Size: int64(len(block))}
	}
	return data, m
}
