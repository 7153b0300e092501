package transfer

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/spool"
	"golang.org/x/sync/errgroup"
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
	// Confirm, when set, is called once every chunk of a Push is staged,
	// with the content's digest and size, before anything is made durable
	// or visible: an error from it fails the push with that error and
	// drops every chunk the push staged, so a refused push stores nothing.
	// It needs a store that stages (a local backend, see storage.Stager):
	// Push fails with ErrNoStaging, before it reads anything, on any
	// other. While it is set nothing is committed before the end
	// (CommitEvery, CommitBlobs and CommitInterval do not apply), and a
	// failed push commits nothing. PushTree ignores it.
	Confirm func(sum content.Digest, size int64) error
	// Progress, if set, is called after every read and every finished
	// chunk with the running totals. Calls never overlap, but come from
	// several goroutines; the callback must be quick.
	Progress func(Progress)

	// TreeSchema is the layout PushTree writes: 0 or
	// content.StreamTreeSchema for the stream layout (the files'
	// concatenation chunked as one stream), content.ManifestSchema for
	// the per-file layout (a file manifest per file), which artstore
	// versions without the stream layout can read; that layout stores no
	// symbolic links.
	TreeSchema int
	// FollowSymlinks makes PushTree store what a symbolic link points to
	// (a file or a directory, wherever it is) instead of the link.
	FollowSymlinks bool
	// Strict makes PushTree fail on a device, socket or named pipe
	// (ErrUnsupportedFileType) instead of skipping it.
	Strict bool
	// OnSkip, if set, is called once for each special file PushTree skips,
	// with its path (dir joined with the entry path) and what it is.
	OnSkip func(path, what string)
	// TreeCache, if set, lets PushTree return the previous manifest of a
	// stream-layout tree whose metadata is unchanged without reading its
	// files (see TreeCache); nil reads every file.
	TreeCache *TreeCache
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
	if o.Confirm != nil {
		o.CommitEvery, o.CommitBlobs, o.CommitInterval = math.MaxInt64, math.MaxInt, math.MaxInt64
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

// send delivers v on ch unless ctx ends first.
func send[T any](ctx context.Context, ch chan<- T, v T) error {
	select {
	case ch <- v:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pushFile runs the pipeline over one input: chunkReader (read, cut),
// pushHasher (whole-content and chunk digests), checker (presence checks,
// the chunk list), uploader (parallel puts with retries), committer (on
// stores that stage), then storeFileManifest. Each stage is a type of its
// own; they pass chunks, and with them the holds on their bytes, through
// channels (see pushChunk).
//
// Its memory does not grow with the input: the manifest's chunk list is
// written, in order, to a spool (memory, then a temporary file) as chunks
// are digested, and the set of digests already asked about within the push
// is bounded (seenLimit).
func pushFile(parent context.Context, in io.Reader, store BlobStore, cfg pushConfig, rg *ring, prog *progress) (PushResult, error) {
	spooled := &spool.Spool{}
	defer spooled.Close()
	st, err := pushStream(parent, in, store, cfg, rg, prog, spooled)
	if st.abort != nil {
		defer st.abort()
	}
	if err != nil {
		return PushResult{}, err
	}
	if cfg.Confirm != nil {
		// Refused: the deferred abort drops every staged chunk.
		if err := cfg.Confirm(st.sum, st.size); err != nil {
			return PushResult{}, err
		}
	}
	md, err := storeFileManifest(parent, store, cfg, st.cm, st.size, st.sum, st.list, spooled)
	if err != nil {
		return PushResult{}, err
	}
	return PushResult{
		ManifestDigest:    md,
		ContentDigest:     st.sum,
		Size:              st.size,
		Kind:              content.KindFile,
		Chunks:            st.list.enc.Len(),
		UploadedBytes:     st.uploaded,
		DeduplicatedBytes: st.dedup,
	}, nil
}

// pushed is what pushStream stored: the chunks of one input, whose list it
// wrote to a spool, and the committer (nil: the store does not stage)
// whose stage holds what is not committed yet.
type pushed struct {
	size            int64
	sum             content.Digest
	list            *chunkList
	uploaded, dedup int64
	cm              *committer
	// abort, when not nil, drops what was staged and not committed; call
	// it once the push is over.
	abort func()
}

// pushStream runs the pipeline's stages up to the chunks' upload over one
// input (see pushFile), writing the chunk list to spooled. On error it
// commits, best effort, what was staged completely, so a run again
// resumes.
func pushStream(parent context.Context, in io.Reader, store BlobStore, cfg pushConfig, rg *ring, prog *progress, spooled *spool.Spool) (pushed, error) {
	rg.reset(int(cfg.Chunker.Max))
	cm, abort := newCommitter(store, cfg)
	if cfg.Confirm != nil && cm == nil {
		return pushed{}, fmt.Errorf("push: %w", ErrNoStaging)
	}
	put := func(ctx context.Context, d content.Digest, size int64, r io.Reader) error {
		return putDigested(ctx, store, d, size, r)
	}
	if cm != nil {
		put = cm.sh.st.putDigested
	}
	rd := &chunkReader{in: in, rg: rg, splitter: cfg.splitter, prog: prog}
	if b, ok := in.(boundaries); ok {
		rd.bounds = b
	}
	h := newPushHasher(rg)
	if t, ok := in.(interface{ fileCuts() *fileCuts }); ok {
		h.cuts = t.fileCuts()
	}
	k := &checker{store: store, cfg: cfg, rg: rg, prog: prog, seen: &digestSet{limit: seenLimit},
		list: &chunkList{enc: content.NewChunkListEncoder(spooled, cfg.Chunker), pending: map[int]content.ChunkRef{}}}
	up := &uploader{put: put, cfg: cfg, rg: rg, prog: prog, commit: cm}

	out := pushed{cm: cm, abort: abort}
	if err := runPushStages(parent, cfg, rg, rd, h, k, up); err != nil {
		if cm != nil && cfg.Confirm == nil {
			cm.interrupted(parent)
		}
		if perr := parent.Err(); perr != nil {
			return out, fmt.Errorf("push: %w", perr)
		}
		return out, fmt.Errorf("push: %w", err)
	}
	if len(k.list.pending) > 0 { // cannot happen: every chunk passed the checker
		return out, fmt.Errorf("push: internal error: %d chunks never reached the manifest", len(k.list.pending))
	}
	if err := h.finishCuts(rd.size); err != nil {
		return out, fmt.Errorf("push: %w", err)
	}
	out.size, out.sum, out.list, out.uploaded, out.dedup = rd.size, h.sum(), k.list, up.uploaded.Load(), k.dedup
	return out, nil
}

// runPushStages connects the stages with queues, runs them and returns the
// first error, once every stage has returned (errgroup: the first error
// cancels the others).
//
// Every chunk stays in the ring until both the whole-content hasher and
// the store path are done with it, so at most len(ring)/Min + 1 chunks
// exist at once; queues that size never make a sender wait for space.
func runPushStages(parent context.Context, cfg pushConfig, rg *ring, rd *chunkReader, h *pushHasher, k *checker, up *uploader) error {
	g, ctx := errgroup.WithContext(parent)
	qcap := len(rg.buf)/int(cfg.Chunker.Min) + 2
	wholeQ := make(chan *pushChunk, qcap)
	hashQ := make(chan *pushChunk, qcap)
	checkQ := make(chan *pushChunk, qcap)
	uploadQ := make(chan *pushChunk, qcap)

	g.Go(func() error { return rd.run(ctx, wholeQ, hashQ) })
	var hashers sync.WaitGroup
	hashers.Add(1 + cfg.HashWorkers)
	g.Go(func() error {
		defer hashers.Done()
		return h.runWhole(ctx, wholeQ, checkQ)
	})
	for range cfg.HashWorkers {
		g.Go(func() error {
			defer hashers.Done()
			return h.runChunks(ctx, hashQ, checkQ)
		})
	}
	go func() { hashers.Wait(); close(checkQ) }()
	g.Go(func() error { return k.run(ctx, checkQ, uploadQ) })
	for range cfg.Concurrency {
		g.Go(func() error { return up.run(ctx, uploadQ) })
	}
	return g.Wait()
}

// storeFileManifest is the push pipeline's last stage: once every chunk is
// stored, it stores the file manifest, whose chunk list the checker has
// spooled. Every chunk is durable and visible before the manifest that
// names them: committed now, or, for a tree's file, staged before the
// manifest, which joins them in the shared stage (a commit syncs every
// staged file before it renames any, in the order they were staged).
func storeFileManifest(ctx context.Context, store BlobStore, cfg pushConfig, cm *committer, size int64, sum content.Digest, list *chunkList, spooled *spool.Spool) (content.Digest, error) {
	stageManifest := cfg.shared != nil && !spooled.InFile()
	if cm != nil && !stageManifest {
		if err := cm.commit(ctx); err != nil {
			return content.Digest{}, fmt.Errorf("push: %w", err)
		}
	}
	hdr := content.Manifest{Kind: content.KindFile, MediaType: cfg.MediaType, Size: size, Digest: sum, Chunker: cfg.Chunker}
	head, tail, err := content.FileManifestFrame(hdr, list.enc)
	if err != nil {
		return content.Digest{}, fmt.Errorf("push: %w", err)
	}
	var mst blobStage
	if stageManifest {
		mst = cm.sh.st
	}
	md, err := putManifest(ctx, store, mst, cfg.Retry, manifestParts{head, spooled, tail})
	if err != nil {
		return content.Digest{}, err
	}
	if stageManifest {
		if err := cm.staged(ctx, int64(len(head))+spooled.Len()+int64(len(tail))); err != nil {
			return content.Digest{}, fmt.Errorf("push: %w", err)
		}
	}
	return md, nil
}
