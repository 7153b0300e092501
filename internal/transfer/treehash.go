package transfer

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/spool"
)

// fileCuts carries, in a stream-layout tree push, the file boundaries from
// the stream's reader to the whole-content hasher, and the files' digests
// back: the hasher's whole-stream SHA-256 is cut at the end of each
// non-empty file, so each file is hashed in the same pass as its chunks
// (sha256x2 pairs the two), not in a pass of its own on the reader's
// critical path.
//
// The reader calls finished when a file ends, before it reads a byte past
// it. The hasher sees a chunk only after the reader has read all of it, so
// an end it does not find queued lies past the chunk: the bytes belong to
// the file being read. The queue holds the ends of the files in the ring
// not yet hashed (at most one per byte there, and at most
// content.MaxTreeEntries).
type fileCuts struct {
	mu   sync.Mutex
	ends []int64
	// digests receives each non-empty file's SHA-256, in order; written
	// by the hasher only, read once the pipeline is done.
	digests *bufio.Writer
}

// finished records that a non-empty file ends at stream offset end.
func (f *fileCuts) finished(end int64) {
	f.mu.Lock()
	f.ends = append(f.ends, end)
	f.mu.Unlock()
}

// first returns the first queued end.
func (f *fileCuts) first() (int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.ends) == 0 {
		return 0, false
	}
	return f.ends[0], true
}

// pop drops the first queued end.
func (f *fileCuts) pop() {
	f.mu.Lock()
	f.ends = f.ends[1:]
	if len(f.ends) == 0 {
		f.ends = f.ends[:0:0] // let the array go
	}
	f.mu.Unlock()
}

// hash writes the chunk data, which starts at stream offset pos, with
// write (to the whole stream, and the chunk's digest too when paired),
// cutting the whole stream at each file end inside it and saving that
// file's digest.
func (f *fileCuts) hash(pos int64, data []byte, write func([]byte), cutWhole func() [sha256.Size]byte) error {
	for {
		end, ok := f.first()
		if !ok || end > pos+int64(len(data)) {
			write(data)
			return nil
		}
		n := end - pos
		write(data[:n])
		f.pop()
		d := cutWhole()
		if _, err := f.digests.Write(d[:]); err != nil {
			return fmt.Errorf("spool the file digests: %w", err)
		}
		pos, data = end, data[n:]
		if len(data) == 0 {
			return nil
		}
	}
}

// entryRecords spools a tree's entries as the reader meets them, without
// the digests of their files (the hasher computes those later), in a
// compact form: kind, mode, size, offset, path and target.
type entryRecords struct {
	w   *bufio.Writer
	buf []byte
}

func (r *entryRecords) add(e content.TreeEntry) error {
	b := r.buf[:0]
	b = append(b, string(e.Type)[0])
	b = binary.AppendUvarint(b, uint64(e.Mode))
	b = binary.AppendUvarint(b, uint64(e.Size))
	b = binary.AppendUvarint(b, uint64(e.Offset))
	b = binary.AppendUvarint(b, uint64(len(e.Path)))
	b = append(b, e.Path...)
	b = binary.AppendUvarint(b, uint64(len(e.Target)))
	b = append(b, e.Target...)
	r.buf = b
	_, err := r.w.Write(b)
	return err
}

// readRecord reads back one record add wrote; io.EOF at the end.
func readRecord(r *bufio.Reader) (content.TreeEntry, error) {
	var e content.TreeEntry
	k, err := r.ReadByte()
	if err != nil {
		return e, err
	}
	switch k {
	case 'f':
		e.Type = content.EntryFile
	case 'd':
		e.Type = content.EntryDir
	case 's':
		e.Type = content.EntrySymlink
	default:
		return e, fmt.Errorf("spooled entry of kind %q", k)
	}
	var v [3]uint64
	for i := range v {
		if v[i], err = binary.ReadUvarint(r); err != nil {
			return e, noEOF(err)
		}
	}
	e.Mode, e.Size, e.Offset = uint32(v[0]), int64(v[1]), int64(v[2])
	if e.Path, err = readString(r); err != nil {
		return e, err
	}
	e.Target, err = readString(r)
	return e, err
}

func readString(r *bufio.Reader) (string, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return "", noEOF(err)
	}
	if n > content.MaxPathLen {
		return "", fmt.Errorf("spooled string of %d bytes", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", noEOF(err)
	}
	return string(b), nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// encodeEntries writes the tree's entries, read back from the records
// with each non-empty file's digest from digests (in the same order), to
// enc.
func encodeEntries(records, digests *spool.Spool, enc *content.TreeEntryEncoder) error {
	rr := bufio.NewReaderSize(records.Reader(), 64<<10)
	dr := bufio.NewReaderSize(digests.Reader(), 64<<10)
	empty := content.FromBytes(nil)
	for {
		e, err := readRecord(rr)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read the spooled entries: %w", err)
		}
		if e.Type == content.EntryFile {
			e.Digest = empty
			if e.Size > 0 {
				var d [sha256.Size]byte
				if _, err := io.ReadFull(dr, d[:]); err != nil {
					return fmt.Errorf("read the spooled file digests: %w", noEOF(err))
				}
				e.Digest = content.FromSHA256(d)
			}
		}
		if err := enc.Add(e); err != nil {
			return err
		}
	}
	if _, err := dr.ReadByte(); err != io.EOF {
		return fmt.Errorf("internal error: more file digests than files")
	}
	return nil
}
