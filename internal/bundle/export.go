package bundle

import (
	"archive/tar"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/spool"
	"github.com/artifact-store/artstore/internal/tlog"
)

// Source is the store a bundle is made from.
type Source interface {
	// Events returns the events whose subject is the artifact id with seq
	// at most size, oldest first. The first is its registration.
	Events(ctx context.Context, id string, size int64) ([]eventlog.Event, error)
	// InclusionProof proves event seq in the log's tree of size events.
	InclusionProof(ctx context.Context, seq, size int64) (tlog.Proof, error)
	// Open returns a reader of the stored blob d (a manifest or a chunk)
	// that fails with an error matching content.ErrMismatch unless the
	// bytes hash to d.
	Open(ctx context.Context, d content.Digest) (io.ReadCloser, error)
}

// Request says what to export.
type Request struct {
	// IDs are the requested artifacts, in the order they were asked for.
	IDs []string
	// Closure is the provenance depth: 0 for none, ClosureAll for any.
	Closure int
	// Checkpoint is the log's checkpoint of the bundle's tree size, signed
	// with the key whose verifier form is Key.
	Checkpoint []byte
	Key        string
}

// Summary says what Export wrote.
type Summary struct {
	Index Index
	// Bytes is the content written (files and trees), without the tar's
	// own overhead.
	Bytes int64
}

// Export writes the bundle of req to w, reading from src. It streams:
// memory holds the index, the events of the artifacts and a spooled
// manifest at a time, never content. The same log, blobs and request give
// the same bytes.
func Export(ctx context.Context, src Source, req Request, w io.Writer) (Summary, error) {
	cp, err := tlog.OpenCheckpoint(req.Checkpoint, req.Key)
	if err != nil {
		return Summary{}, fmt.Errorf("export: %w", err)
	}
	g, err := gather(ctx, src, req, cp)
	if err != nil {
		return Summary{}, fmt.Errorf("export: %w", err)
	}
	x := &exporter{ctx: ctx, src: src, tw: tar.NewWriter(w)}
	if err := x.write(g, req); err != nil {
		return Summary{}, fmt.Errorf("export: %w", err)
	}
	if err := x.tw.Close(); err != nil {
		return Summary{}, fmt.Errorf("export: finish the tar: %w", err)
	}
	return Summary{Index: g.index, Bytes: x.bytes}, nil
}

// gathered is what a bundle holds, before its bytes.
type gathered struct {
	index  Index
	events []eventlog.Event // ascending seq
}

// gather walks the requested artifacts and their provenance closure
// breadth first and collects their events.
func gather(ctx context.Context, src Source, req Request, cp tlog.Checkpoint) (*gathered, error) {
	g := &gathered{index: Index{Format: Format, Origin: cp.Origin, Size: cp.Size, Root: cp.Root.String(), Closure: req.Closure}}
	err := walkClosure(req.IDs, req.Closure, func(step closureStep) ([]string, error) {
		evs, err := src.Events(ctx, step.id, cp.Size)
		if err != nil {
			return nil, fmt.Errorf("events of %s: %w", step.id, err)
		}
		st, err := describe(step.id, evs)
		if err != nil {
			return nil, err
		}
		g.index.Artifacts = append(g.index.Artifacts, st.artifact(step.depth))
		g.events = append(g.events, evs...)
		return inputIDs(st.reg), nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(g.events, func(a, b eventlog.Event) int { return cmp.Compare(a.Seq, b.Seq) })
	for _, e := range g.events {
		g.index.Events = append(g.index.Events, e.Seq)
	}
	return g, nil
}

// state is what an artifact's events say about it.
type state struct {
	id      string
	reg     *eventlog.ArtifactRegistered
	deleted bool
}

func (s *state) artifact(depth int) Artifact {
	return Artifact{
		ID: s.id, Ref: s.reg.Name + ":" + s.reg.Version, Digest: s.reg.ContentDigest,
		Manifest: s.reg.ManifestDigest, Size: s.reg.Size, Depth: depth, Bytes: !s.deleted,
	}
}

// describe reads an artifact's events: the first must register it.
func describe(id string, evs []eventlog.Event) (*state, error) {
	types := eventlog.DefaultTypes()
	st := &state{id: id}
	for i, e := range evs {
		if e.Subject != id {
			return nil, fmt.Errorf("event %d is about %q, not %s", e.Seq, e.Subject, id)
		}
		p, err := types.Decode(e.Type, e.Payload)
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", e.Seq, err)
		}
		switch p := p.(type) {
		case *eventlog.ArtifactRegistered:
			if i != 0 || p.ID != id {
				return nil, fmt.Errorf("event %d registers %s again", e.Seq, p.ID)
			}
			st.reg = p
		case *eventlog.ArtifactDeleted:
			st.deleted = true
		}
		if st.reg == nil {
			return nil, fmt.Errorf("the first event about %s (event %d, %s) does not register it", id, e.Seq, e.Type)
		}
	}
	if st.reg == nil {
		return nil, fmt.Errorf("%s has no registration event in the log's first events", id)
	}
	return st, nil
}

// exporter writes the members of a bundle.
type exporter struct {
	ctx   context.Context
	src   Source
	tw    *tar.Writer
	bytes int64
}

func (x *exporter) write(g *gathered, req Request) error {
	ix, err := g.index.encode()
	if err != nil {
		return err
	}
	for _, m := range []struct {
		name string
		b    []byte
	}{
		{ReadmeName, readme(&g.index, req.Key)},
		{IndexName, ix},
		{CheckpointName, req.Checkpoint},
		{KeyName, []byte(req.Key + "\n")},
	} {
		if err := x.small(Dir+m.name, m.b); err != nil {
			return err
		}
	}
	for _, e := range g.events {
		if err := x.event(e, g.index.Size); err != nil {
			return err
		}
	}
	for _, a := range g.index.Artifacts {
		if !a.Bytes {
			continue
		}
		if err := x.artifact(a); err != nil {
			return fmt.Errorf("%s (%s): %w", a.Ref, a.ID, err)
		}
	}
	return nil
}

func header(name string, size int64) *tar.Header {
	return &tar.Header{
		Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644,
		ModTime: epoch, Format: tar.FormatPAX,
	}
}

func (x *exporter) small(name string, b []byte) error {
	if err := x.tw.WriteHeader(header(name, int64(len(b)))); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if _, err := x.tw.Write(b); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func (x *exporter) event(e eventlog.Event, size int64) error {
	p, err := x.src.InclusionProof(x.ctx, e.Seq, size)
	if err != nil {
		return fmt.Errorf("inclusion proof of event %d: %w", e.Seq, err)
	}
	if err := x.small(eventName(e.Seq, "body"), e.Body); err != nil {
		return err
	}
	pt, _ := p.MarshalText()
	return x.small(eventName(e.Seq, "proof"), append([]byte("prev "+e.Prev+"\n"), pt...))
}

// artifact writes an artifact's manifest and bytes.
func (x *exporter) artifact(a Artifact) error {
	var sp spool.Spool
	defer sp.Close()
	if err := x.blob(a.Manifest, &sp); err != nil {
		return fmt.Errorf("read manifest: %w", err)
	}
	if err := x.spooled(artifactName(a.ID, "manifest"), &sp); err != nil {
		return err
	}
	m, err := content.ScanManifest(sp.Reader(), content.ManifestVisitor{})
	if err != nil {
		return fmt.Errorf("manifest %s: %w", a.Manifest, err)
	}
	if m.Kind == content.KindFile {
		return x.stream(artifactName(a.ID, "content"), m.Size, &sp)
	}
	if m.Stream() {
		return x.streamTree(a, &sp)
	}
	return x.perFileTree(a, &sp)
}

// blob copies the stored blob d into w.
func (x *exporter) blob(d content.Digest, w io.Writer) error {
	rc, err := x.src.Open(x.ctx, d)
	if err != nil {
		return err
	}
	defer rc.Close()
	if _, err := io.Copy(w, rc); err != nil {
		return fmt.Errorf("read %s: %w", d, err)
	}
	return nil
}

func (x *exporter) spooled(name string, sp *spool.Spool) error {
	if err := x.tw.WriteHeader(header(name, sp.Len())); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if _, err := io.Copy(x.tw, sp.Reader()); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// stream writes the concatenation of the chunks of the manifest in sp as
// one member of size bytes.
func (x *exporter) stream(name string, size int64, sp *spool.Spool) error {
	if err := x.tw.WriteHeader(header(name, size)); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	r := x.chunks(sp)
	defer r.close()
	n, err := io.Copy(x.tw, io.LimitReader(r, size))
	x.bytes += n
	if err == nil {
		err = r.end()
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// streamTree writes a stream-layout tree's files: consecutive sections of
// the concatenation of its chunks.
func (x *exporter) streamTree(a Artifact, sp *spool.Spool) error {
	r := x.chunks(sp)
	defer r.close()
	_, err := content.ScanManifest(sp.Reader(), content.ManifestVisitor{
		Entry: func(_ int, e content.TreeEntry) error {
			if e.Type != content.EntryFile {
				return nil
			}
			name := artifactName(a.ID, "files/"+e.Path)
			if err := x.tw.WriteHeader(header(name, e.Size)); err != nil {
				return fmt.Errorf("write %s: %w", name, err)
			}
			n, err := io.Copy(x.tw, io.LimitReader(r, e.Size))
			x.bytes += n
			if err == nil && n < e.Size {
				err = io.ErrUnexpectedEOF
			}
			if err != nil {
				return fmt.Errorf("write %s: %w", name, err)
			}
			return nil
		},
	})
	if err == nil {
		err = r.end()
	}
	return err
}

// perFileTree writes a per-file layout tree's files, each after its file
// manifest.
func (x *exporter) perFileTree(a Artifact, sp *spool.Spool) error {
	_, err := content.ScanManifest(sp.Reader(), content.ManifestVisitor{
		Entry: func(_ int, e content.TreeEntry) error {
			if e.Type != content.EntryFile {
				return nil
			}
			var fsp spool.Spool
			defer fsp.Close()
			if err := x.blob(e.Manifest, &fsp); err != nil {
				return fmt.Errorf("read the manifest of %s: %w", e.Path, err)
			}
			if err := x.spooled(artifactName(a.ID, "file-manifests/"+e.Path), &fsp); err != nil {
				return err
			}
			if _, err := content.ScanManifest(fsp.Reader(), content.ManifestVisitor{}); err != nil {
				return fmt.Errorf("manifest of %s: %w", e.Path, err)
			}
			return x.stream(artifactName(a.ID, "files/"+e.Path), e.Size, &fsp)
		},
	})
	return err
}

// chunkReader reads the concatenation of a manifest's chunks, opening one
// at a time. The chunk references come from a scan of the spooled
// manifest that runs as they are needed (iter.Pull2), so memory holds one
// reference, not the manifest's list.
type chunkReader struct {
	x    *exporter
	next func() (content.ChunkRef, error, bool)
	stop func()
	cur  io.ReadCloser
}

// errChunksDone stops the scan of a manifest whose reader is closed.
var errChunksDone = errors.New("chunk reader closed")

// chunks returns the reader of the chunks of the manifest in sp.
func (x *exporter) chunks(sp *spool.Spool) *chunkReader {
	seq := func(yield func(content.ChunkRef, error) bool) {
		_, err := content.ScanManifest(sp.Reader(), content.ManifestVisitor{
			Chunk: func(_ int, c content.ChunkRef) error {
				if !yield(c, nil) {
					return errChunksDone
				}
				return nil
			},
		})
		if err != nil && !errors.Is(err, errChunksDone) {
			yield(content.ChunkRef{}, err)
		}
	}
	next, stop := iter.Pull2(seq)
	return &chunkReader{x: x, next: next, stop: stop}
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for {
		if r.cur == nil {
			c, err, ok := r.next()
			if !ok {
				return 0, io.EOF
			}
			if err != nil {
				return 0, fmt.Errorf("manifest: %w", err)
			}
			rc, err := r.x.src.Open(r.x.ctx, c.Digest)
			if err != nil {
				return 0, fmt.Errorf("chunk %s: %w", c.Digest, err)
			}
			r.cur = rc
		}
		n, err := r.cur.Read(p)
		if err == io.EOF {
			r.cur.Close()
			r.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

// end reads the chunks to their end: a chunk's reader checks its digest
// only there, and copying up to a size stops short of the last chunk's
// end. Bytes past the size are an error too.
func (r *chunkReader) end() error {
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%w: the chunks hold %d bytes more than the manifest's size", content.ErrInvalidManifest, n)
	}
	return nil
}

func (r *chunkReader) close() {
	if r.cur != nil {
		r.cur.Close()
	}
	r.stop()
}
