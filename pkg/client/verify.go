package client

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/sqlite"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/textfmt"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
)

// Problem kinds reported by Verify.
const (
	ProblemMissing         = api.ProblemMissing
	ProblemSizeMismatch    = api.ProblemSizeMismatch
	ProblemDigestMismatch  = api.ProblemDigestMismatch
	ProblemInvalidManifest = api.ProblemInvalidManifest
	ProblemUnreadable      = api.ProblemUnreadable
	ProblemOrphan          = api.ProblemOrphan
	ProblemChain           = api.ProblemChain
	ProblemView            = api.ProblemView
	ProblemTemp            = api.ProblemTemp
)

// verifyListPage is the page size Verify lists artifacts with.
const verifyListPage = 500

// replayBatch is how many events the view check appends to its scratch log
// per transaction.
const replayBatch = 500

// Verify checks stored artifacts against their manifests: for the artifact
// opts.Ref names, or with opts.All every live artifact, the manifest blob
// is present, verifies and parses, and every chunk exists with its size
// (Head); with opts.Deep every chunk is re-read and re-hashed, and each
// file's whole content too. With opts.All it also checks the event log's
// hash chain, compares the views with a replay of the log into a scratch
// store, and lists orphaned blobs (in the backend but referenced by no
// artifact, live or deleted).
//
// Each finding is a Problem with a Hint saying what to do. OK is false when
// any problem other than an orphan is found: orphans are left by
// interrupted pushes (or belong to a push in progress) and are harmless
// garbage, so they are listed but are not damage. Errors are returned only
// when the check itself cannot proceed (backend unavailable, log
// unreadable, cancelled).
func (l *Local) Verify(ctx context.Context, opts VerifyOptions) (*VerifyReport, error) {
	rep, err := l.verify(ctx, opts)
	return rep, mapErr(err)
}

func (l *Local) verify(ctx context.Context, opts VerifyOptions) (*VerifyReport, error) {
	if (opts.Ref == "") == !opts.All {
		return nil, fmt.Errorf("verify: %w: give an artifact reference or ask for all artifacts, not both or neither", ErrInvalid)
	}
	v := &verifier{l: l, deep: opts.Deep, rep: &VerifyReport{OK: true, Problems: []Problem{}},
		heads: map[content.Digest]*Problem{}, refs: map[content.Digest]bool{}, counted: map[content.Digest]bool{}}
	if !opts.All {
		a, err := l.live(ctx, opts.Ref)
		if err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		if err := v.artifact(ctx, a); err != nil {
			return nil, err
		}
		return v.rep, nil
	}
	cursor := ""
	for {
		page, err := l.reg.List(ctx, registry.ListOptions{IncludeDeleted: true, Cursor: cursor, Limit: verifyListPage})
		if err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		for _, a := range page.Artifacts {
			if a.Deleted != nil {
				v.deletedRefs(ctx, a)
				continue
			}
			if err := v.artifact(ctx, a); err != nil {
				return nil, err
			}
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if err := v.chain(ctx); err != nil {
		return nil, err
	}
	if err := v.views(ctx); err != nil {
		return nil, err
	}
	if err := v.orphans(ctx); err != nil {
		return nil, err
	}
	if err := v.temp(ctx); err != nil {
		return nil, err
	}
	return v.rep, nil
}

// verifier holds the state of one Verify run.
type verifier struct {
	l    *Local
	deep bool
	rep  *VerifyReport
	// heads caches Head results by digest: nil for a good blob, else the
	// problem (without Ref), so a chunk shared by many artifacts is
	// checked once and reported for each.
	heads map[content.Digest]*Problem
	// refs holds every blob some artifact references (for orphans).
	refs map[content.Digest]bool
	// counted holds the blobs counted in rep.Blobs and rep.Bytes.
	counted map[content.Digest]bool
	// lostManifests is set when a manifest could not be read: the blobs it
	// listed are unknown, so "orphans" may be its chunks.
	lostManifests bool
}

func (v *verifier) add(p Problem) {
	if p.Kind != ProblemOrphan && p.Kind != ProblemTemp {
		v.rep.OK = false
	}
	v.rep.Problems = append(v.rep.Problems, p)
}

func (v *verifier) count(d content.Digest, size int64) {
	if !v.counted[d] {
		v.counted[d] = true
		v.rep.Blobs++
		v.rep.Bytes += size
	}
}

// fatal reports whether err should stop the whole run rather than be
// reported as a problem with one blob.
func fatal(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, storage.ErrUnavailable)
}

// blobProblem turns a failure to read blob d into a Problem, or returns
// the error when the run cannot go on.
func (v *verifier) blobProblem(ref string, d content.Digest, what string, err error) (*Problem, error) {
	be := v.l.backend.ID()
	switch {
	case fatal(err):
		return nil, fmt.Errorf("verify %s: %w", ref, err)
	case errors.Is(err, storage.ErrNotFound):
		return &Problem{Ref: ref, Digest: d.String(), Kind: ProblemMissing,
			Message: fmt.Sprintf("%s (%s) is missing from backend %s", what, d.Short(), be),
			Hint:    fmt.Sprintf("push the same content again (any name) to restore the blob, then verify again; if the content is lost, delete the artifact (artstore rm %s)", ref)}, nil
	case errors.Is(err, content.ErrMismatch):
		kind := ProblemDigestMismatch
		var me *content.MismatchError
		if errors.As(err, &me) && me.Actual.IsZero() {
			kind = ProblemSizeMismatch
		}
		return &Problem{Ref: ref, Digest: d.String(), Kind: kind,
			Message: fmt.Sprintf("%s (%s) is damaged in backend %s: %v", what, d.Short(), be, err),
			Hint:    fmt.Sprintf("delete the damaged object %s from backend %s, then push the same content again to restore it (or restore the object from a backup)", d.Key(), be)}, nil
	case errors.Is(err, content.ErrInvalidManifest):
		return &Problem{Ref: ref, Digest: d.String(), Kind: ProblemInvalidManifest,
			Message: fmt.Sprintf("%s (%s) does not parse: %v", what, d.Short(), err),
			Hint:    "the manifest was written by a faulty or newer artstore; upgrade artstore, or push the content again and delete this artifact"}, nil
	default:
		return &Problem{Ref: ref, Digest: d.String(), Kind: ProblemUnreadable,
			Message: fmt.Sprintf("%s (%s) could not be read from backend %s: %v", what, d.Short(), be, err),
			Hint:    "check the backend (permissions, disk errors: artstore backend health), then verify again"}, nil
	}
}

// manifest reads, verifies and parses the manifest blob d.
func (v *verifier) manifest(ctx context.Context, d content.Digest) (content.Manifest, error) {
	rc, err := v.l.backend.Get(ctx, d, nil)
	if err != nil {
		return content.Manifest{}, err
	}
	defer rc.Close()
	b, err := io.ReadAll(content.NewVerifyingReader(io.LimitReader(rc, content.MaxManifestSize+1), d, -1))
	if err != nil {
		return content.Manifest{}, err
	}
	v.count(d, int64(len(b)))
	return content.ParseManifest(b)
}

// artifact checks one live artifact.
func (v *verifier) artifact(ctx context.Context, a eventlog.Artifact) error {
	v.rep.Artifacts++
	ref := a.Ref()
	v.refs[a.ManifestDigest] = true
	m, err := v.manifest(ctx, a.ManifestDigest)
	if err != nil {
		v.lostManifests = true
		p, err := v.blobProblem(ref, a.ManifestDigest, "manifest", err)
		if err != nil {
			return err
		}
		v.add(*p)
		return nil
	}
	v.collect(m)
	if !manifestMatches(m, a) {
		v.add(Problem{Ref: ref, Digest: a.ManifestDigest.String(), Kind: ProblemInvalidManifest,
			Message: fmt.Sprintf("manifest %s describes %s content %s of %d bytes, but %s was registered as %s content %s of %d bytes",
				a.ManifestDigest.Short(), m.Kind, m.Digest, m.Size, ref, app.KindOf(a.MediaType), a.ContentDigest, a.Size),
			Hint: "the registration does not match its manifest; check the event log (artstore log verify), then push the content again and delete this artifact"})
		return nil
	}
	if m.Kind == content.KindFile || m.Stream() {
		// A stream-layout tree lists its chunks itself.
		return v.file(ctx, ref, "", a.ManifestDigest, m)
	}
	for _, e := range m.Entries {
		if e.Type != content.EntryFile {
			continue
		}
		what := "manifest of " + e.Path
		fm, err := v.manifest(ctx, e.Manifest)
		if err != nil {
			v.lostManifests = true
			p, err := v.blobProblem(ref, e.Manifest, what, err)
			if err != nil {
				return err
			}
			v.add(*p)
			continue
		}
		v.collect(fm)
		if fm.Kind != content.KindFile || fm.Digest != e.Digest || fm.Size != e.Size {
			v.add(Problem{Ref: ref, Digest: e.Manifest.String(), Kind: ProblemInvalidManifest,
				Message: fmt.Sprintf("%s %s does not describe the file the tree lists (%s, %d bytes)", what, e.Manifest.Short(), e.Digest, e.Size),
				Hint:    "the tree manifest and a file manifest disagree; push the directory again and delete this artifact"})
			continue
		}
		if err := v.file(ctx, ref, e.Path, e.Manifest, fm); err != nil {
			return err
		}
	}
	return nil
}

// collect records the blobs a manifest references.
func (v *verifier) collect(m content.Manifest) {
	for _, c := range m.Chunks {
		v.refs[c.Digest] = true
	}
	for _, e := range m.Entries {
		if e.Type == content.EntryFile && !e.Manifest.IsZero() {
			v.refs[e.Manifest] = true
		}
	}
}

// deletedRefs records the blobs of a deleted artifact, as far as they are
// still there, so they are not reported as orphans: they are garbage
// awaiting collection.
func (v *verifier) deletedRefs(ctx context.Context, a eventlog.Artifact) {
	v.refs[a.ManifestDigest] = true
	m, err := v.manifest(ctx, a.ManifestDigest)
	if err != nil {
		return
	}
	v.collect(m)
	for _, e := range m.Entries {
		if e.Type == content.EntryFile && !e.Manifest.IsZero() {
			if fm, err := v.manifest(ctx, e.Manifest); err == nil {
				v.collect(fm)
			}
		}
	}
}

// file checks the chunks of the file manifest m stored as md (path is ""
// for a file artifact, the entry path inside a tree).
func (v *verifier) file(ctx context.Context, ref, path string, md content.Digest, m content.Manifest) error {
	what := func(i int) string {
		if path == "" {
			return fmt.Sprintf("chunk %d", i)
		}
		return fmt.Sprintf("chunk %d of %s", i, path)
	}
	if v.deep {
		return v.fileDeep(ctx, ref, path, md, m, what)
	}
	if err := v.headAll(ctx, m.Chunks); err != nil {
		return fmt.Errorf("verify %s: %w", ref, err)
	}
	for i, c := range m.Chunks {
		if p := v.heads[c.Digest]; p != nil {
			q := *p
			q.Ref, q.Message = ref, what(i)+q.Message // cached messages start with " (<digest>)"
			if q.Kind == ProblemMissing {
				q.Hint = fmt.Sprintf("push the same content again (any name) to restore the blob, then verify again; if the content is lost, delete the artifact (artstore rm %s)", ref)
			}
			v.add(q)
		}
	}
	return nil
}

// headAll checks, in parallel, the size of every chunk not checked yet and
// fills v.heads.
func (v *verifier) headAll(ctx context.Context, chunks []content.ChunkRef) error {
	var todo []content.ChunkRef
	queued := map[content.Digest]bool{}
	for _, c := range chunks {
		if _, done := v.heads[c.Digest]; !done && !queued[c.Digest] {
			queued[c.Digest] = true
			todo = append(todo, c)
		}
	}
	results := make([]*Problem, len(todo))
	errs := make([]error, len(todo))
	sem := make(chan struct{}, max(v.l.concurrency, 8))
	var wg sync.WaitGroup
	for i, c := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			info, err := v.l.backend.Head(ctx, c.Digest)
			switch {
			case err == nil && info.Size != c.Size:
				results[i] = &Problem{Digest: c.Digest.String(), Kind: ProblemSizeMismatch,
					Message: fmt.Sprintf(" (%s) has %d bytes in backend %s, not %d", c.Digest.Short(), info.Size, v.l.backend.ID(), c.Size),
					Hint: fmt.Sprintf("delete the damaged object %s from backend %s, then push the same content again to restore it (or restore the object from a backup)",
						c.Digest.Key(), v.l.backend.ID())}
			case err != nil:
				results[i], errs[i] = v.blobProblem("", c.Digest, "", err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for i, c := range todo {
		v.heads[c.Digest] = results[i]
		if results[i] == nil {
			v.count(c.Digest, c.Size)
		}
	}
	return nil
}

// fileDeep re-reads every chunk in order, checking each against its digest
// and the whole content against the manifest's.
//
// The first pass is the pull pipeline into io.Discard: chunks fetched and
// verified in parallel, the whole content hashed in order. Only when it
// fails does a sequential pass find and report every bad chunk.
func (v *verifier) fileDeep(ctx context.Context, ref, path string, md content.Digest, m content.Manifest, what func(int) string) error {
	po := transfer.PullOptions{Concurrency: v.l.concurrency, Retry: transfer.RetryPolicy{MaxAttempts: 1}}
	var err error
	if m.Stream() {
		// Every chunk, and every file's SHA-256.
		_, err = transfer.VerifyTree(ctx, md, v.l.blobs, po)
	} else {
		_, err = transfer.Pull(ctx, md, v.l.blobs, io.Discard, po)
	}
	if err == nil {
		for _, c := range m.Chunks {
			v.count(c.Digest, c.Size)
		}
		return nil
	}
	if fatal(err) {
		return fmt.Errorf("verify %s: %w", ref, err)
	}
	whole := sha256.New()
	intact := true
	for i, c := range m.Chunks {
		err := v.readChunk(ctx, c, whole)
		if err == nil {
			v.count(c.Digest, c.Size)
			continue
		}
		intact = false
		p, err := v.blobProblem(ref, c.Digest, what(i), err)
		if err != nil {
			return err
		}
		v.add(*p)
	}
	if !intact {
		return nil // the chunk problems say it all
	}
	if m.Stream() {
		v.add(Problem{Ref: ref, Digest: md.String(), Kind: ProblemDigestMismatch,
			Message: fmt.Sprintf("every chunk of %s verifies, but a file does not match its digest: %v", ref, err),
			Hint:    "the manifest lists the wrong chunks or digests (a faulty writer); push the original directory again and delete this artifact"})
		return nil
	}
	sum, err := content.NewDigest(content.SHA256, whole.Sum(nil))
	if err != nil {
		return err
	}
	if sum != m.Digest {
		where := ref
		if path != "" {
			where = path + " in " + ref
		}
		v.add(Problem{Ref: ref, Digest: m.Digest.String(), Kind: ProblemDigestMismatch,
			Message: fmt.Sprintf("the content of %s hashes to %s, not %s, although every chunk verifies", where, sum, m.Digest),
			Hint:    "the manifest lists the wrong chunks (a faulty writer); push the original content again and delete this artifact"})
	}
	return nil
}

// readChunk reads chunk c through a verifier, copying its bytes to whole.
func (v *verifier) readChunk(ctx context.Context, c content.ChunkRef, whole io.Writer) error {
	rc, err := v.l.backend.Get(ctx, c.Digest, nil)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(whole, content.NewVerifyingReader(rc, c.Digest, c.Size))
	return err
}

// chain checks the event log's hash chain.
func (v *verifier) chain(ctx context.Context) error {
	lr, err := v.l.VerifyLog(ctx)
	if err != nil {
		return err
	}
	if !lr.OK {
		v.add(Problem{Kind: ProblemChain,
			Message: fmt.Sprintf("the event log's hash chain breaks at event %d: %s", lr.FirstBad, lr.Problem),
			Hint: fmt.Sprintf("the log was changed outside artstore; stop writing to this store and restore %s from a backup",
				filepath.Join(v.l.dir, LogFileName))})
	}
	return nil
}

// views compares the live views with views projected from scratch: the
// log is replayed, event by event, into a temporary SQLite store, and the
// two stores' canonical view dumps are compared line by line. The live dump
// is taken between two equal heads, so it reflects exactly the events
// replayed. Both dumps go to temporary files: memory stays bounded.
//
// The scratch space is in the system's temporary directory ($TMPDIR),
// never in the store: verify is what an operator runs on a store in
// trouble, whose disk may be full or read-only. It needs about twice the
// views' size; point TMPDIR elsewhere when /tmp is a small tmpfs.
func (v *verifier) views(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "artstore-verify-*")
	if err != nil {
		return fmt.Errorf("verify views: scratch space in the temporary directory (set TMPDIR to a directory with room): %w", err)
	}
	defer os.RemoveAll(dir)

	livePath := filepath.Join(dir, "live.dump")
	var head eventlog.Head
	for attempt := 0; ; attempt++ {
		h1, err := v.l.log.Head(ctx)
		if err != nil {
			return fmt.Errorf("verify views: %w", err)
		}
		if err := dumpTo(ctx, v.l.log, livePath); err != nil {
			return fmt.Errorf("verify views: %w", err)
		}
		h2, err := v.l.log.Head(ctx)
		if err != nil {
			return fmt.Errorf("verify views: %w", err)
		}
		if h1 == h2 {
			head = h1
			break
		}
		if attempt == 4 {
			return fmt.Errorf("verify views: %w: the log kept changing while the views were read; try again when it is quieter", ErrUnavailable)
		}
	}

	scratch, err := sqlite.Open(ctx, filepath.Join(dir, "replay.db"), eventlog.Options{})
	if err != nil {
		return fmt.Errorf("verify views: open scratch log: %w", err)
	}
	defer scratch.Close()
	var batch []eventlog.NewEvent
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := scratch.Append(ctx, batch)
		batch = batch[:0]
		return err
	}
	errDone := errors.New("replayed to head")
	err = v.l.log.Read(ctx, 0, func(e eventlog.Event) error {
		if e.Seq > head.Seq {
			return errDone
		}
		batch = append(batch, eventlog.NewEvent{Time: e.Time, Actor: e.Actor, Type: e.Type, Subject: e.Subject, Payload: e.Payload})
		if len(batch) == replayBatch {
			return flush()
		}
		return nil
	})
	if err == nil || errors.Is(err, errDone) {
		err = flush()
	}
	if err != nil {
		v.add(Problem{Kind: ProblemView,
			Message: fmt.Sprintf("the log does not replay cleanly: %v", err),
			Hint:    "the log holds events this artstore cannot apply; upgrade artstore, or check the log (artstore log verify)"})
		return nil
	}
	replayPath := filepath.Join(dir, "replay.dump")
	if err := dumpTo(ctx, scratch, replayPath); err != nil {
		return fmt.Errorf("verify views: %w", err)
	}
	diff, err := firstDifference(livePath, replayPath)
	if err != nil {
		return fmt.Errorf("verify views: %w", err)
	}
	if diff != "" {
		v.add(Problem{Kind: ProblemView,
			Message: fmt.Sprintf("the views differ from a replay of the %d events of the log: %s", head.Seq, diff),
			Hint:    "rebuild the views from the log: artstore admin rebuild"})
	}
	return nil
}

// dumpTo writes s's view dump to the file at path.
func dumpTo(ctx context.Context, s eventlog.Store, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if err := s.ViewDump(ctx, w); err != nil {
		f.Close()
		return fmt.Errorf("dump views: %w", err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// firstDifference compares two view dumps line by line and describes the
// first difference ("" when equal). One line of look-ahead tells an added
// or removed row from a changed one.
func firstDifference(livePath, replayPath string) (string, error) {
	a, err := newLineReader(livePath)
	if err != nil {
		return "", err
	}
	defer a.Close()
	b, err := newLineReader(replayPath)
	if err != nil {
		return "", err
	}
	defer b.Close()
	table := ""
	for line := 1; ; line++ {
		la, okA := a.next()
		lb, okB := b.next()
		if err := errors.Join(a.err(), b.err()); err != nil {
			return "", err
		}
		switch {
		case !okA && !okB:
			return "", nil
		case !okB:
			return fmt.Sprintf("table %s has an extra live row %s", table, textfmt.Clip(la, 300)), nil
		case !okA:
			return fmt.Sprintf("table %s lacks the row %s", table, textfmt.Clip(lb, 300)), nil
		case la == lb:
			if strings.HasPrefix(la, "# ") {
				table = la[2:]
			}
			continue
		}
		na, _ := a.peek()
		nb, _ := b.peek()
		switch {
		case na == lb && !strings.HasPrefix(la, "# "):
			return fmt.Sprintf("table %s has an extra live row %s", table, textfmt.Clip(la, 300)), nil
		case nb == la && !strings.HasPrefix(lb, "# "):
			return fmt.Sprintf("table %s lacks the row %s", table, textfmt.Clip(lb, 300)), nil
		}
		return describeRowDiff(table, line, la, lb), nil
	}
}

// lineReader reads a file line by line with one line of look-ahead.
type lineReader struct {
	f      *os.File
	s      *bufio.Scanner
	peeked bool
	line   string
	ok     bool
}

func newLineReader(path string) (*lineReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	s := bufio.NewScanner(f)
	s.Buffer(nil, 64<<20)
	return &lineReader{f: f, s: s}, nil
}

func (r *lineReader) peek() (string, bool) {
	if !r.peeked {
		r.ok = r.s.Scan()
		r.line = r.s.Text()
		r.peeked = true
	}
	return r.line, r.ok
}

func (r *lineReader) next() (string, bool) {
	l, ok := r.peek()
	r.peeked = false
	return l, ok
}

func (r *lineReader) err() error   { return r.s.Err() }
func (r *lineReader) Close() error { return r.f.Close() }

// describeRowDiff says how two dump rows (JSON arrays of strings) differ:
// the first differing column when both parse, else both rows.
func describeRowDiff(table string, line int, live, replayed string) string {
	var a, b []string
	if json.Unmarshal([]byte(live), &a) == nil && json.Unmarshal([]byte(replayed), &b) == nil && len(a) == len(b) && len(a) > 0 {
		for i := range a {
			if a[i] != b[i] {
				return fmt.Sprintf("table %s, row %q (line %d): column %d is %q, but %q when replayed",
					table, textfmt.Clip(a[0], 300), line, i+1, textfmt.Clip(a[i], 300), textfmt.Clip(b[i], 300))
			}
		}
	}
	return fmt.Sprintf("table %s, line %d: live row %s, replayed row %s", table, line, textfmt.Clip(live, 300), textfmt.Clip(replayed, 300))
}

// orphans lists the backend's blobs that no artifact references.
func (v *verifier) orphans(ctx context.Context) error {
	be := v.l.backend.ID()
	hint := "left by an interrupted push, or part of a push in progress; harmless: garbage collection (artstore gc) reclaims it"
	if v.lostManifests {
		hint = "some manifests could not be read (see the problems above), so this blob may be one of their chunks; " +
			"restore those manifests (push the same content again) before collecting garbage"
	}
	err := v.l.backend.Walk(ctx, func(info storage.Info) error {
		if v.refs[info.Digest] {
			return nil
		}
		v.add(Problem{Digest: info.Digest.String(), Kind: ProblemOrphan,
			Message: fmt.Sprintf("blob %s (%d bytes) in backend %s is referenced by no artifact", info.Digest.Short(), info.Size, be),
			Hint:    hint})
		return nil
	})
	if err != nil {
		return fmt.Errorf("verify: list blobs of backend %s: %w", be, err)
	}
	return nil
}

// temp reports the backend's temporary upload files, if any: left by
// uploads killed hard (kill -9, power loss), or belonging to uploads in
// progress. Like orphans, they are garbage, not damage.
func (v *verifier) temp(ctx context.Context) error {
	t, ok := v.l.backend.(storage.Temper)
	if !ok {
		return nil
	}
	now := time.Now() // the files' clock, not the store's event clock
	sum, err := t.Temp(ctx, now, false)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if sum.Files == 0 {
		return nil
	}
	files := "files"
	if sum.Files == 1 {
		files = "file"
	}
	v.add(Problem{Kind: ProblemTemp,
		Message: fmt.Sprintf("backend %s holds %d temporary upload %s (%d bytes), the oldest last written %s ago",
			v.l.backend.ID(), sum.Files, files, sum.Bytes, now.Sub(sum.Oldest).Round(time.Second)),
		Hint: "left by uploads killed hard (kill -9, power loss), or uploads in progress; harmless: artstore gc removes those older than its grace window"})
	return nil
}
