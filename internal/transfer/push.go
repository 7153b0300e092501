package transfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/content/sha256x2"
	"github.com/artifact-store/artstore/internal/spool"
)

// Push defaults.
const (
	// DefaultConcurrency is the default number of parallel uploads and
	// downloads.
	DefaultConcurrency = 4
	// DefaultMissingBatch is the default largest batch of digests sent in
	// one BlobStore.Missing call.
	DefaultMissingBatch = 64
	// DefaultCommitEvery is how many chunk bytes a push stages between
	// group commits, on stores that stage (see PushOptions.CommitEvery).
	DefaultCommitEvery = 256 << 20
	// DefaultCommitBlobs is how many blobs a push stages at most between
	// group commits.
	DefaultCommitBlobs = 4096
	// DefaultCommitInterval is the longest a push stages between group
	// commits. Staged chunks are temporary files that a hard kill leaves
	// unpublished, so this bounds the work such a kill throws away (at
	// ~100 MB/s, a 600 MB push killed after 2.5 s had committed nothing
	// and was uploaded whole again): a commit a second costs one group of
	// syncs a second.
	DefaultCommitInterval = time.Second
)

// PushOptions tunes Push and PushTree. The zero value is ready to use.
type PushOptions struct {
	// MediaType is recorded in the manifest (optional).
	MediaType string
	// ExpectedSize, when > 0, is reported as Progress.Total (a CLI knows a
	// file's size before pushing it). It is not enforced: the manifest
	// records the bytes actually read.
	ExpectedSize int64
	// Chunker selects the chunking parameters; the zero value means
	// content.DefaultChunkerParams().
	Chunker content.ChunkerParams
	// Concurrency is the number of chunk uploads in flight; 0 means
	// DefaultConcurrency.
	Concurrency int
	// HashWorkers is the number of goroutines digesting chunks; 0 means
	// GOMAXPROCS.
	HashWorkers int
	// BufferSize is the size of the read buffer that holds chunks in flight;
	// 0 means 3 × the maximum chunk size (24 MiB by default). It must be at
	// least twice the maximum chunk size.
	BufferSize int
	// MissingBatch caps the digests per BlobStore.Missing call; 0 means
	// DefaultMissingBatch. Chunks are checked as soon as they are digested:
	// a batch holds whatever has accumulated while the previous call ran.
	MissingBatch int
	// CommitEvery applies to stores that group the durability of chunk
	// writes (a local backend, see storage.Stager): chunks are staged, and
	// committed (made durable and visible) every CommitEvery bytes, once
	// more when the last chunk is stored (before the manifest), and on
	// failure or cancellation for what was staged completely, so a push
	// run again resumes. It bounds what a hard kill (power loss, SIGKILL)
	// makes the next run upload again. 0 means DefaultCommitEvery.
	CommitEvery int64
	// CommitBlobs also commits once this many blobs are staged, so that a
	// push of many small files (a tree) keeps its list of staged blobs
	// short; 0 means DefaultCommitBlobs.
	CommitBlobs int
	// CommitInterval also commits once this long has passed since the
	// last commit (checked as each blob is staged), so that a hard kill
	// loses at most about that much work; 0 means DefaultCommitInterval.
	CommitInterval time.Duration
	// Retry governs retries of store calls.
	Retry RetryPolicy
	// Progress, if set, is called after every read and every finished
	// chunk with the running totals. Calls never overlap, but come from
	// several goroutines; the callback must be quick.
	Progress func(Progress)
}

// PushResult reports a finished push.
type PushResult struct {
	// ManifestDigest names the manifest blob (file or tree).
	ManifestDigest content.Digest
	// ContentDigest is the SHA-256 of the content for a file, and
	// content.TreeDigest of the entries for a tree.
	ContentDigest content.Digest
	// Size is the content size (for a tree, the sum of its file sizes).
	Size int64
	// Kind is content.KindFile or content.KindTree.
	Kind content.Kind
	// Chunks counts the chunks of the content (with repeats).
	Chunks int
	// UploadedBytes counts chunk bytes sent to the store in this push.
	UploadedBytes int64
	// DeduplicatedBytes counts chunk bytes not sent because the store
	// already held them or they repeated within the push.
	// UploadedBytes + DeduplicatedBytes == Size.
	DeduplicatedBytes int64
}

// pushConfig is PushOptions with defaults applied and validated.
type pushConfig struct {
	PushOptions
	splitter *content.Splitter
	// shared, when set, is the stage the pushes of a tree's files share:
	// their chunks and file manifests are committed in groups, not twice
	// per file.
	shared *sharedStage
}

// sharedStage is a blobStage with the count of what was staged since its
// last commit, used by every push that stages into it.
type sharedStage struct {
	st blobStage
	mu sync.Mutex
	n  int   // blobs staged since the last commit
	b  int64 // bytes staged since the last commit
	// last is when the last commit was due (or the stage was made).
	last time.Time
}

// newSharedStage returns st with nothing counted.
func newSharedStage(st blobStage) *sharedStage {
	return &sharedStage{st: st, last: time.Now()}
}

// staged counts a blob of size bytes just staged and reports whether a
// commit is due (it then resets the count, so one caller commits).
func (s *sharedStage) staged(size int64, cfg pushConfig) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	s.b += size
	now := time.Now()
	if s.b >= cfg.CommitEvery || s.n >= cfg.CommitBlobs || now.Sub(s.last) >= cfg.CommitInterval {
		s.n, s.b, s.last = 0, 0, now
		return true
	}
	return false
}

func (o PushOptions) config() (pushConfig, error) {
	if o.Chunker == (content.ChunkerParams{}) {
		o.Chunker = content.DefaultChunkerParams()
	}
	s, err := content.NewSplitter(o.Chunker)
	if err != nil {
		return pushConfig{}, fmt.Errorf("push: %w", err)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.HashWorkers <= 0 {
		o.HashWorkers = runtime.GOMAXPROCS(0)
	}
	if o.BufferSize <= 0 {
		// 3 × Max: 8 MiB less resident memory than 4 ×, so that peak
		// RSS stays under 64 MiB on the largest inputs, at a small cost
		// to warm pushes; 2 × is clearly slower (docs/benchmarks.md,
		// "Pipeline changes").
		o.BufferSize = 3 * int(o.Chunker.Max)
	}
	if o.MissingBatch <= 0 {
		o.MissingBatch = DefaultMissingBatch
	}
	if o.CommitEvery <= 0 {
		o.CommitEvery = DefaultCommitEvery
	}
	if o.CommitBlobs <= 0 {
		o.CommitBlobs = DefaultCommitBlobs
	}
	if o.CommitInterval <= 0 {
		o.CommitInterval = DefaultCommitInterval
	}
	o.Retry = o.Retry.withDefaults()
	return pushConfig{PushOptions: o, splitter: s}, nil
}

// Push stores the content read from r as chunks plus a file manifest, and
// returns what it stored. It reads r exactly once, and uploads only chunks
// the store is missing, so a push interrupted and run again uploads only
// what the first run did not finish. The manifest is stored last.
//
// On error nothing is registered anywhere (Push only stores blobs); chunks
// stored before the error remain and will be deduplicated next time.
func Push(ctx context.Context, r io.Reader, store BlobStore, opts PushOptions) (PushResult, error) {
	cfg, err := opts.config()
	if err != nil {
		return PushResult{}, err
	}
	rg, err := newRing(cfg.BufferSize, int(cfg.Chunker.Max))
	if err != nil {
		return PushResult{}, fmt.Errorf("push: %w", err)
	}
	defer rg.close()
	p := &progress{fn: cfg.Progress, cur: Progress{Total: -1}}
	if cfg.ExpectedSize > 0 {
		p.cur.Total = cfg.ExpectedSize
	}
	return pushFile(ctx, r, store, cfg, rg, p)
}

// progress serialises progress callbacks and keeps the running totals.
type progress struct {
	mu  sync.Mutex
	fn  func(Progress)
	cur Progress
}

func (p *progress) add(read, written, dedup int64) {
	if p == nil || p.fn == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cur.Read += read
	p.cur.Written += written
	p.cur.Deduplicated += dedup
	p.fn(p.cur)
}

// pairAhead is how close ahead of the whole-content hasher a chunk hasher
// leaves chunks to it (when sha256x2 is accelerated). Measured on the
// 2-core VM, 1 GiB, four alternated runs each: with 2, warm push 1.05 s
// and cold 1.84 s on average; with chunk hashers claiming whatever they
// reach first, 1.20 s and 2.01 s (user CPU 0.11-0.16 s higher: fewer
// chunks paired). 1, 4 and 8 measured alike within the noise.
const pairAhead = 2

// pushChunk is one chunk on its way through the pipeline.
type pushChunk struct {
	index  int
	data   []byte // a span of the ring; valid until released
	span   *span
	digest content.Digest
	refs   atomic.Int32 // consumers still holding the span
	// claimed is set by the first of the whole-content hasher and the
	// chunk hashers to take on the chunk's digest; that one passes the
	// chunk on to the store path.
	claimed atomic.Bool
}

// claim reports whether the caller is the first to claim the chunk's
// digest (and with it the store path's hold on its bytes).
func (c *pushChunk) claim() bool { return c.claimed.CompareAndSwap(false, true) }

// done drops one consumer's hold on the chunk's bytes.
func (c *pushChunk) done(rg *ring) {
	if c.refs.Add(-1) == 0 {
		rg.release(c.span)
	}
}

// group runs goroutines, remembers the first error and cancels the others.
type group struct {
	wg     sync.WaitGroup
	once   sync.Once
	err    error
	cancel context.CancelFunc
}

func (g *group) goFn(fn func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := fn(); err != nil {
			g.once.Do(func() {
				g.err = err
				g.cancel()
			})
		}
	}()
}

func (g *group) wait() error {
	g.wg.Wait()
	g.cancel()
	return g.err
}

// send delivers v on ch unless ctx ends first.
func send[T any](ctx context.Context, ch chan<- T, v T) error {
	select {
	case ch <- v:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pushFile runs the pipeline over one input.
//
// Its memory does not grow with the input: the manifest's chunk list is
// written, in order, to a spool (memory, then a temporary file) as chunks
// are digested, and the set of digests already asked about within the push
// is bounded (seenLimit).
func pushFile(parent context.Context, in io.Reader, store BlobStore, cfg pushConfig, rg *ring, prog *progress) (PushResult, error) {
	ctx, cancel := context.WithCancel(parent)
	g := &group{cancel: cancel}
	rg.reset(int(cfg.Chunker.Max))

	// Every chunk stays in the ring until both the whole-content hasher
	// and the store path (digest, presence check, upload) are done with
	// it, so at most len(ring)/Min + 1 chunks exist at once; channels that
	// size never make a sender wait for buffer space.
	qcap := len(rg.buf)/int(cfg.Chunker.Min) + 2
	wholeQ := make(chan *pushChunk, qcap)
	hashQ := make(chan *pushChunk, qcap)
	checkQ := make(chan *pushChunk, qcap)
	uploadQ := make(chan *pushChunk, qcap)

	// Stores that stage get the chunks' durability in groups.
	put := func(ctx context.Context, d content.Digest, size int64, r io.Reader) error {
		return putDigested(ctx, store, d, size, r)
	}
	// A tree's files share one stage (cfg.shared), which PushTree
	// commits and aborts; a file pushed alone has its own.
	sh := cfg.shared
	if sh == nil {
		if ss, ok := store.(stagingStore); ok {
			if st := ss.newStage(); st != nil {
				sh = newSharedStage(st)
				defer st.abort()
			}
		}
	}
	var st blobStage
	if sh != nil {
		st = sh.st
		put = st.putDigested
	}

	var size int64
	g.goFn(func() error { // producer: read, cut
		defer close(wholeQ)
		defer close(hashQ)
		for i := 0; ; i++ {
			if err := rg.fill(ctx, in, func(n int) { prog.add(int64(n), 0, 0) }); err != nil {
				return err
			}
			data, sp, ok := rg.next(cfg.splitter)
			if !ok {
				return nil
			}
			size += int64(len(data))
			c := &pushChunk{index: i, data: data, span: sp}
			// Holds: the whole hasher's, a chunk hasher's, and the store
			// path's (passed on by whichever hasher claims the chunk).
			c.refs.Store(3)
			if err := send(ctx, wholeQ, c); err != nil {
				rg.release(sp)
				return err
			}
			if err := send(ctx, hashQ, c); err != nil {
				c.done(rg) // the chunk hashers' hold
				if c.claim() {
					c.done(rg) // the store path's, unless the whole hasher took it
				}
				return err
			}
		}
	})

	// Every byte is hashed twice: into the whole content's digest, in
	// stream order, and into its chunk's. Where the processor can run two
	// SHA-256 computations interleaved at little more than the cost of one
	// (sha256x2.Accelerated), the whole hasher also digests each chunk it
	// reaches before a chunk hasher has claimed it; the chunk hashers run
	// ahead on whatever CPU is left, and the whole hasher only adds the
	// chunks they took to the whole digest. A chunk hasher leaves a chunk
	// at most pairAhead chunks ahead of the whole hasher to it, as pairing
	// is the cheaper way to digest it. Otherwise the chunk hashers digest
	// every chunk.
	pair := sha256x2.New()
	both := sha256x2.Accelerated()
	var wholeAt atomic.Int64 // the chunk the whole hasher is at
	var hashers sync.WaitGroup
	hashers.Add(1)
	g.goFn(func() error { // whole-content digest, in stream order
		defer hashers.Done()
		for c := range wholeQ {
			wholeAt.Store(int64(c.index))
			switch {
			case ctx.Err() != nil:
				if c.claim() {
					c.done(rg)
				}
			case both && c.claim():
				pair.Write(c.data)
				c.digest = content.FromSHA256(pair.Cut())
				if err := send(ctx, checkQ, c); err != nil {
					c.done(rg)
				}
			default:
				pair.WriteWhole(c.data)
			}
			c.done(rg)
		}
		return nil
	})

	for range cfg.HashWorkers {
		hashers.Add(1)
		g.goFn(func() error { // chunk digests
			defer hashers.Done()
			for c := range hashQ {
				if both && int64(c.index)-wholeAt.Load() <= pairAhead {
					c.done(rg) // the whole hasher will pair it
					continue
				}
				if c.claim() {
					if ctx.Err() != nil {
						c.done(rg)
					} else {
						c.digest = content.FromBytes(c.data)
						if err := send(ctx, checkQ, c); err != nil {
							c.done(rg)
						}
					}
				}
				c.done(rg)
			}
			return nil
		})
	}
	go func() { hashers.Wait(); close(checkQ) }()

	// The checker is the only goroutine that touches list and seen.
	spooled := &spool.Spool{}
	defer spooled.Close()
	list := &chunkList{enc: content.NewChunkListEncoder(spooled, cfg.Chunker), pending: map[int]content.ChunkRef{}}
	var (
		seen    = &digestSet{limit: seenLimit}
		dedup   atomic.Int64
		uploads atomic.Int64
	)
	g.goFn(func() error { // presence checks, in batches
		defer close(uploadQ)
		var batch []*pushChunk
		for c := range checkQ {
			batch = append(batch[:0], c)
		drain:
			for len(batch) < cfg.MissingBatch {
				select {
				case c, ok := <-checkQ:
					if !ok {
						break drain
					}
					batch = append(batch, c)
				default:
					break drain
				}
			}
			if err := checkBatch(ctx, store, cfg, batch, list, seen, uploadQ, rg, prog, &dedup); err != nil {
				for c := range checkQ { // let the hashers finish
					c.done(rg)
				}
				return err
			}
		}
		return nil
	})

	for range cfg.Concurrency {
		g.goFn(func() error { // uploads
			var err error
			for c := range uploadQ {
				if err == nil {
					err = putChunk(ctx, put, cfg, c)
					if err == nil {
						uploads.Add(int64(len(c.data)))
						prog.add(0, int64(len(c.data)), 0)
					}
				}
				c.done(rg)
				if err == nil && st != nil && sh.staged(int64(len(c.data)), cfg) {
					err = commitStage(ctx, st, cfg.Retry)
				}
			}
			return err
		})
	}

	if err := g.wait(); err != nil {
		if st != nil {
			// Keep what was stored completely, so a run again resumes;
			// also when the caller cancelled (Ctrl-C), hence the context.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(parent), interruptedCommitTimeout)
			_ = st.commit(cctx) // best effort: the push has failed anyway
			cancel()
		}
		if perr := parent.Err(); perr != nil {
			return PushResult{}, fmt.Errorf("push: %w", perr)
		}
		return PushResult{}, fmt.Errorf("push: %w", err)
	}
	// Every chunk durable and visible before the manifest that names them:
	// committed now, or, for a tree's file, staged before the manifest,
	// which joins them in the shared stage (a commit syncs every staged
	// file before it renames any, in the order they were staged).
	stageManifest := cfg.shared != nil && !spooled.InFile()
	if st != nil && !stageManifest {
		if err := commitStage(parent, st, cfg.Retry); err != nil {
			return PushResult{}, fmt.Errorf("push: %w", err)
		}
	}

	if len(list.pending) > 0 { // cannot happen: every chunk passed the checker
		return PushResult{}, fmt.Errorf("push: internal error: %d chunks never reached the manifest", len(list.pending))
	}
	sum := content.FromSHA256(pair.Sum())
	hdr := content.Manifest{Kind: content.KindFile, MediaType: cfg.MediaType, Size: size, Digest: sum, Chunker: cfg.Chunker}
	head, tail, err := content.FileManifestFrame(hdr, list.enc)
	if err != nil {
		return PushResult{}, fmt.Errorf("push: %w", err)
	}
	var mst blobStage
	if stageManifest {
		mst = st
	}
	md, err := putSpooledManifest(parent, store, mst, cfg.Retry, head, spooled, tail)
	if err != nil {
		return PushResult{}, err
	}
	if stageManifest && sh.staged(int64(len(head))+spooled.Len()+int64(len(tail)), cfg) {
		if err := commitStage(parent, st, cfg.Retry); err != nil {
			return PushResult{}, fmt.Errorf("push: %w", err)
		}
	}
	return PushResult{
		ManifestDigest:    md,
		ContentDigest:     sum,
		Size:              size,
		Kind:              content.KindFile,
		Chunks:            list.enc.Len(),
		UploadedBytes:     uploads.Load(),
		DeduplicatedBytes: dedup.Load(),
	}, nil
}

// chunkList writes a file manifest's chunk list in order, from chunks that
// reach the checker in any order.
type chunkList struct {
	enc     *content.ChunkListEncoder
	next    int                      // index of the next chunk to write
	pending map[int]content.ChunkRef // chunks ahead of next (at most those in flight)
}

func (l *chunkList) add(i int, c content.ChunkRef) error {
	if i >= content.MaxChunks {
		p := content.DefaultChunkerParams() // chunks average about Min + Avg
		return fmt.Errorf("%w: it has more than %d chunks, the most one manifest may list (about %.1f TiB at the default chunk size); split it into several artifacts",
			ErrTooLarge, content.MaxChunks, float64(content.MaxChunks)*float64(p.Min+p.Avg)/(1<<40))
	}
	if i != l.next {
		l.pending[i] = c
		return nil
	}
	for {
		if err := l.enc.Add(c); err != nil {
			return fmt.Errorf("write the manifest's chunk list: %w", err)
		}
		l.next++
		var ok bool
		if c, ok = l.pending[l.next]; !ok {
			return nil
		}
		delete(l.pending, l.next)
	}
}

// seenLimit bounds each of digestSet's two generations: about 10 GiB of
// distinct chunks at the default chunk size, in about 1 MiB of memory.
const seenLimit = 4096

// digestSet remembers the chunk digests a push has asked the store about,
// so that a chunk repeated within the push is neither asked about nor
// uploaded twice. Its memory is bounded: it keeps two generations of at
// most limit digests and forgets the older when the newer is full. A
// repeat it has forgotten is asked about again, and the store (which holds
// it by then, or soon) deduplicates it; at worst it is uploaded twice,
// which content addressing makes harmless.
type digestSet struct {
	cur, old map[content.Digest]struct{}
	limit    int
}

// addNew adds d and reports whether it was not (remembered as) there.
func (s *digestSet) addNew(d content.Digest) bool {
	if _, ok := s.cur[d]; ok {
		return false
	}
	if _, ok := s.old[d]; ok {
		return false
	}
	if s.cur == nil || len(s.cur) >= s.limit {
		s.old, s.cur = s.cur, make(map[content.Digest]struct{}, min(s.limit, 256))
	}
	s.cur[d] = struct{}{}
	return true
}

// checkBatch records the batch's chunk references, asks the store which
// chunks it lacks, queues those for upload and releases the rest. Every
// chunk of the batch is passed on or released, also on error.
func checkBatch(ctx context.Context, store BlobStore, cfg pushConfig, batch []*pushChunk,
	list *chunkList, seen *digestSet,
	uploadQ chan<- *pushChunk, rg *ring, prog *progress, dedup *atomic.Int64) error {
	var ask []content.Digest
	for _, c := range batch {
		if err := list.add(c.index, content.ChunkRef{Digest: c.digest, Size: int64(len(c.data))}); err != nil {
			for _, c := range batch {
				c.done(rg)
			}
			return err
		}
		if seen.addNew(c.digest) {
			ask = append(ask, c.digest)
		}
	}
	var missing []content.Digest
	if len(ask) > 0 {
		err := cfg.Retry.do(ctx, func() error {
			var err error
			missing, err = store.Missing(ctx, ask)
			return err
		})
		if err != nil {
			for _, c := range batch {
				c.done(rg)
			}
			return fmt.Errorf("check which chunks the store holds: %w", err)
		}
	}
	upload := make(map[content.Digest]bool, len(missing))
	for _, d := range missing {
		upload[d] = true
	}
	for i, c := range batch {
		if upload[c.digest] {
			delete(upload, c.digest) // a repeat within the batch is uploaded once
			if err := send(ctx, uploadQ, c); err != nil {
				for _, rest := range batch[i:] {
					rest.done(rg)
				}
				return err
			}
			continue
		}
		dedup.Add(int64(len(c.data)))
		prog.add(0, 0, int64(len(c.data)))
		c.done(rg)
	}
	return nil
}

// putFunc stores caller-digested bytes: putDigested, or a stage's put.
type putFunc func(ctx context.Context, d content.Digest, size int64, r io.Reader) error

// putChunk uploads one chunk with retries.
func putChunk(ctx context.Context, put putFunc, cfg pushConfig, c *pushChunk) error {
	err := cfg.Retry.do(ctx, func() error {
		r := &guardedReader{}
		r.r.Reset(c.data)
		defer r.close()
		return put(ctx, c.digest, int64(len(c.data)), r)
	})
	if err != nil {
		return fmt.Errorf("upload chunk %d (%s, %d bytes): %w", c.index, c.digest.Short(), len(c.data), err)
	}
	return nil
}

// interruptedCommitTimeout bounds the commit of staged chunks after a push
// failed or was cancelled.
const interruptedCommitTimeout = 30 * time.Second

// stagingStore is implemented by BlobStores that can make many chunk
// writes durable together (FromBackend's adapter over a storage.Stager).
// newStage returns nil when the store cannot stage after all.
type stagingStore interface {
	newStage() blobStage
}

// blobStage is a group of chunk writes made durable and visible on commit
// (see storage.Stage).
type blobStage interface {
	putDigested(ctx context.Context, d content.Digest, size int64, r io.Reader) error
	commit(ctx context.Context) error
	abort()
}

// commitStage commits st with retries.
func commitStage(ctx context.Context, st blobStage, retry RetryPolicy) error {
	if err := retry.do(ctx, func() error { return st.commit(ctx) }); err != nil {
		return fmt.Errorf("make stored chunks durable: %w", err)
	}
	return nil
}

// digestedPutter is implemented by BlobStores that can store bytes the
// pipeline has just digested itself without hashing them again (see
// storage.VerifiedPutter); FromBackend's adapter does.
type digestedPutter interface {
	putDigested(ctx context.Context, d content.Digest, size int64, r io.Reader) error
}

// putDigested stores bytes whose digest d the pipeline computed itself, in
// this process, from the very buffer r reads; only Push's chunk and
// manifest uploads may call it.
func putDigested(ctx context.Context, store BlobStore, d content.Digest, size int64, r io.Reader) error {
	if dp, ok := store.(digestedPutter); ok {
		return dp.putDigested(ctx, d, size, r)
	}
	return store.Put(ctx, d, size, r)
}

// errReaderClosed is returned by a chunk reader used after its Put
// returned, against the BlobStore contract.
var errReaderClosed = errors.New("transfer: chunk reader used after Put returned")

// guardedReader reads a chunk's bytes from the ring until closed. Closing
// waits for a Read in progress, so once Put has returned and the reader is
// closed, a BlobStore that (wrongly) keeps reading in the background gets
// an error instead of bytes of a reused or unmapped buffer.
type guardedReader struct {
	mu     sync.Mutex
	r      bytes.Reader
	closed bool
}

func (g *guardedReader) Read(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return 0, errReaderClosed
	}
	return g.r.Read(p)
}

// WriteTo writes the rest of the chunk to w in one call, so a store that
// writes to a file needs no copy through a buffer of its own.
func (g *guardedReader) WriteTo(w io.Writer) (int64, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return 0, errReaderClosed
	}
	return g.r.WriteTo(w)
}

func (g *guardedReader) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// putSpooledManifest stores the manifest head + the spooled chunk list +
// tail and returns its digest. Bytes read back from a temporary file are
// verified by the store as it stores them; another process could have
// written to the file. With st, a manifest spooled in memory is staged
// there instead of stored.
func putSpooledManifest(ctx context.Context, store BlobStore, st blobStage, retry RetryPolicy, head []byte, list *spool.Spool, tail []byte) (content.Digest, error) {
	h := sha256.New()
	h.Write(head)
	if _, err := io.Copy(h, list.Reader()); err != nil {
		return content.Digest{}, fmt.Errorf("push: read the spooled chunk list: %w", err)
	}
	h.Write(tail)
	d := content.FromSHA256([sha256.Size]byte(h.Sum(nil)))
	size := int64(len(head)) + list.Len() + int64(len(tail))
	put := func(ctx context.Context, r io.Reader) error { return putDigested(ctx, store, d, size, r) }
	switch {
	case list.InFile():
		put = func(ctx context.Context, r io.Reader) error { return store.Put(ctx, d, size, r) }
	case st != nil:
		put = func(ctx context.Context, r io.Reader) error { return st.putDigested(ctx, d, size, r) }
	}
	err := retry.do(ctx, func() error {
		return put(ctx, io.MultiReader(bytes.NewReader(head), list.Reader(), bytes.NewReader(tail)))
	})
	if err != nil {
		return content.Digest{}, fmt.Errorf("push: store manifest %s: %w", d.Short(), err)
	}
	return d, nil
}
