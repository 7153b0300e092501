package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
)

// RemoteOptions configure OpenRemote.
type RemoteOptions struct {
	// URL is the daemon's base URL, e.g. http://127.0.0.1:8787.
	URL string
	// Token is the bearer token (ARTSTORE_TOKEN).
	Token string
	// HTTPClient is used for every request; nil means a client with
	// connection pooling and a 90 s limit on waiting for an answer's
	// headers, but no overall timeout (transfers can be long; every call
	// takes a context). A client with a Timeout below 60 s cuts long-polls.
	HTTPClient *http.Client
	// Concurrency is the transfer parallelism; 0 means the pipeline's
	// default.
	Concurrency int
	// RetryWindow is how long a call is retried while the daemon cannot
	// be reached or answers 502, 503, 504 or 429 (a restart, a proxy in
	// front of it): 0 means DefaultRetryWindow, a negative value disables
	// retries.
	RetryWindow time.Duration
	// MaxAttempts, when positive, bounds the tries of a retried call
	// instead of RetryWindow (1 disables retries).
	MaxAttempts int
	// BaseDelay and MaxDelay shape the exponential backoff (0: 100 ms, 5 s).
	BaseDelay, MaxDelay time.Duration
	// OnUnavailable, if not nil, is called once, the first time a call
	// waits to retry, with a one-line message saying which daemon is
	// unavailable, why, and for how long calls are retried (for the user
	// to see on stderr). It may be called from any goroutine.
	OnUnavailable func(msg string)
	// URLSource, if not empty, says where URL was configured (for example
	// "env ARTSTORE_SERVER"); the error of a daemon that cannot be reached
	// names it, so the user knows what to fix.
	URLSource string
	// UserAgent names the client in retrieval records; empty means
	// "artstore-client".
	UserAgent string
}

// Remote is the daemon-mode Store: every call goes to an `artstore serve`
// daemon over its HTTP API (docs/http-api.md). Pushes and pulls run the
// same pipeline as local mode over the daemon's blob routes: the client
// chunks, digests, asks which chunks are missing, uploads them in
// parallel, and verifies every byte it pulls. With a daemon that hands out
// presigned URLs (direct transfers), the bytes go straight to and from the
// storage backend instead (remote_direct.go). It is safe for concurrent use.
//
// Retries: idempotent calls (reads, blob PUTs, which are idempotent by
// digest, the missing check) are retried with exponential backoff and full
// jitter on transport errors and 502/503/504/429 answers, for up to the
// retry window from their first failure (so a daemon restart does not fail
// the calls made meanwhile). Other calls (register, tag, label, ...) are
// sent again only when the daemon certainly did not process them: the
// connection was refused, or it answered "busy" (the log rolled the
// append back); a register whose answer was lost is not sent again, since
// without an explicit version it would register a second version.
type Remote struct {
	// treeSchema is the tree layout pushes write (see Local's).
	treeSchema    int
	base          *url.URL
	token         string
	hc            *http.Client
	concurrency   int
	window        time.Duration
	maxAttempts   int
	baseDelay     time.Duration
	maxDelay      time.Duration
	onUnavailable func(string)
	// noticed is set once onUnavailable has been called.
	noticed   atomic.Bool
	userAgent string
	urlSource string
	blobs     transfer.BlobStore
	// uploads holds the presigned uploads of missing checks until Put;
	// proxied is set once the daemon answered a check without them.
	uploads uploadCache
	proxied atomic.Bool
}

// DefaultRetryWindow is how long a Remote retries a call while the daemon
// is unavailable, unless RemoteOptions.RetryWindow says otherwise.
const DefaultRetryWindow = 60 * time.Second

var _ Store = (*Remote)(nil)

// OpenRemote returns a Store talking to the daemon at opts.URL. It does
// not contact the daemon; the first call does.
func OpenRemote(ctx context.Context, opts RemoteOptions) (*Remote, error) {
	u, err := url.Parse(strings.TrimRight(opts.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: server URL %q is not an http:// or https:// URL", ErrInvalid, opts.URL)
	}
	r := &Remote{base: u, token: opts.Token, hc: opts.HTTPClient, concurrency: opts.Concurrency, window: opts.RetryWindow,
		maxAttempts: opts.MaxAttempts, baseDelay: opts.BaseDelay, maxDelay: opts.MaxDelay, onUnavailable: opts.OnUnavailable,
		userAgent: opts.UserAgent, urlSource: opts.URLSource}
	if r.hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		// A daemon that accepts but never answers must not hang the CLI:
		// every answer starts within 90 s (the daemon caps a long-poll at
		// 60 s). Bodies are bounded by the caller's context.
		tr.ResponseHeaderTimeout = 90 * time.Second
		r.hc = &http.Client{Transport: tr}
	}
	switch {
	case r.maxAttempts > 0:
		r.window = 0
	case r.window < 0:
		r.maxAttempts, r.window = 1, 0
	case r.window == 0:
		r.window = DefaultRetryWindow
	}
	if r.baseDelay <= 0 {
		r.baseDelay = 100 * time.Millisecond
	}
	if r.maxDelay <= 0 {
		r.maxDelay = 5 * time.Second
	}
	if r.userAgent == "" {
		r.userAgent = "artstore-client"
	}
	r.blobs = remoteBlobs{r}
	return r, nil
}

// Close releases idle connections.
func (r *Remote) Close() error {
	r.hc.CloseIdleConnections()
	return nil
}

// transferRetry is the pipeline's retry policy: the same window and
// backoff as API calls, and the RemoteError/transport classification.
func (r *Remote) transferRetry() transfer.RetryPolicy {
	return r.retryPolicy(func(err error) bool { return retryable(err) || transfer.DefaultRetryable(err) })
}

// retryPolicy is the Remote's window (or attempts) and backoff, retrying
// the errors again accepts.
func (r *Remote) retryPolicy(again func(error) bool) transfer.RetryPolicy {
	return transfer.RetryPolicy{MaxAttempts: r.maxAttempts, Window: r.window, BaseDelay: r.baseDelay, MaxDelay: r.maxDelay,
		Retryable: again, OnRetry: r.waiting,
		GiveUpHint: r.unreachableHint()}
}

// unreachableHint is what to check when the daemon cannot be reached.
func (r *Remote) unreachableHint() string {
	hint := "is artstore serve running there and reachable?"
	if r.urlSource != "" {
		hint += " The address comes from " + r.urlSource
	}
	if r.maxAttempts != 1 {
		hint += "; a longer retry window waits longer"
	}
	return hint
}

// waiting tells the user, once per Remote, that calls are waiting for the
// daemon.
func (r *Remote) waiting(err error) {
	if r.onUnavailable == nil || !r.noticed.CompareAndSwap(false, true) {
		return
	}
	msg := fmt.Sprintf("daemon at %s unavailable (%s); retrying", r.base.Redacted(), unavailableReason(err))
	if r.window > 0 {
		msg += fmt.Sprintf(" for up to %s", r.window)
	}
	r.onUnavailable(msg + "...")
}

// remoteBlobs implements the pipeline's BlobStore over the blob routes.
type remoteBlobs struct{ r *Remote }

var _ transfer.BlobStore = remoteBlobs{}

func (b remoteBlobs) Missing(ctx context.Context, ds []content.Digest) ([]content.Digest, error) {
	req := MissingRequest{Digests: make([]string, len(ds))}
	for i, d := range ds {
		req.Digests[i] = d.String()
	}
	var resp MissingResponse
	if err := b.r.do(ctx, request{method: "POST", path: "/v1/blobs/missing", body: req, idempotent: true, out: &resp}); err != nil {
		return nil, err
	}
	return parseDigests(resp.Missing)
}

// Put uploads one blob: straight to the backend on a presigned upload when
// the daemon hands them out (one a missing check answered, else one asked
// for now), else through the daemon. It is not retried here: the pipeline
// retries it (it can re-read the chunk from its buffer), and a retry asks
// for a fresh upload.
func (b remoteBlobs) Put(ctx context.Context, d content.Digest, size int64, body io.Reader) error {
	if sr, ok := b.r.uploads.take(d); ok {
		return b.r.putDirect(ctx, d, sr, size, body)
	}
	if !b.r.proxied.Load() {
		missing, err := b.MissingSized(ctx, []content.ChunkRef{{Digest: d, Size: size}})
		if err != nil {
			return err
		}
		if len(missing) == 0 {
			return nil // stored meanwhile
		}
		if sr, ok := b.r.uploads.take(d); ok {
			return b.r.putDirect(ctx, d, sr, size, body)
		}
	}
	return b.putDaemon(ctx, d, size, body)
}

// putDaemon uploads one blob through the daemon's blob route.
func (b remoteBlobs) putDaemon(ctx context.Context, d content.Digest, size int64, body io.Reader) error {
	req, err := b.r.newRequest(ctx, "PUT", "/v1/blobs/"+d.String(), nil, io.NopCloser(body))
	if err != nil {
		return err
	}
	req.ContentLength = size
	if size == 0 {
		req.Body = http.NoBody
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := b.r.hc.Do(req)
	if err != nil {
		return b.r.transportErr(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return decodeError(resp)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

func (b remoteBlobs) Get(ctx context.Context, d content.Digest, rng *content.Range) (io.ReadCloser, error) {
	return b.r.getBlob(ctx, "/v1/blobs/"+d.String(), nil, d, rng)
}

// scopedBlobs reads the blobs of one artifact from the blob route scoped
// to it (/v1/artifact/blobs, PullGrant.Scoped): a pull's or a verify's
// manifests and chunks, for a token limited to a name prefix. It only
// reads.
type scopedBlobs struct {
	r  *Remote
	id string // the artifact's ID
}

var _ transfer.BlobStore = scopedBlobs{}

// Missing asks which of ds are not stored (a verify's presence check), in
// one request to the missing check scoped to the artifact, which answers
// a digest that is not one of its blobs as missing too. A daemon without
// that route is asked with a HEAD per blob (headMissing).
func (b scopedBlobs) Missing(ctx context.Context, ds []content.Digest) ([]content.Digest, error) {
	req := MissingRequest{Digests: make([]string, len(ds))}
	for i, d := range ds {
		req.Digests[i] = d.String()
	}
	var resp MissingResponse
	err := b.r.do(ctx, request{method: "POST", path: "/v1/artifact/blobs/missing", query: refQuery(b.id), body: req, idempotent: true, out: &resp})
	if noRoute(err) {
		return b.headMissing(ctx, ds)
	}
	if err != nil {
		return nil, err
	}
	return parseDigests(resp.Missing)
}

// noRoute reports whether err is a daemon's answer that it has no such
// route (one older than the route): 405, or a 404 saying so.
func noRoute(err error) bool {
	var re *RemoteError
	return errors.As(err, &re) && (re.Status == http.StatusMethodNotAllowed ||
		re.Status == http.StatusNotFound && strings.HasPrefix(re.Message, "no route "))
}

// headMissing asks for each blob with a HEAD: the route answers 404 for a
// blob of the artifact that is not stored.
func (b scopedBlobs) headMissing(ctx context.Context, ds []content.Digest) ([]content.Digest, error) {
	var missing []content.Digest
	for _, d := range ds {
		req, err := b.r.newRequest(ctx, "HEAD", "/v1/artifact/blobs/"+d.String(), refQuery(b.id), nil)
		if err != nil {
			return nil, err
		}
		resp, err := b.r.hc.Do(req)
		if err != nil {
			return nil, b.r.transportErr(err)
		}
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusNotFound:
			missing = append(missing, d)
		case resp.StatusCode == http.StatusForbidden:
			return nil, fmt.Errorf("%w: the daemon refused a HEAD of blob %s of artifact %s", ErrForbidden, d.Short(), b.id)
		case resp.StatusCode >= 300:
			return nil, fmt.Errorf("%w: daemon answered %d to a HEAD of blob %s of artifact %s", ErrUnavailable, resp.StatusCode, d.Short(), b.id)
		}
	}
	return missing, nil
}

func (b scopedBlobs) Put(context.Context, content.Digest, int64, io.Reader) error {
	return fmt.Errorf("%w: the blobs of a pull are read, not stored", ErrUnavailable)
}

func (b scopedBlobs) Get(ctx context.Context, d content.Digest, rng *content.Range) (io.ReadCloser, error) {
	return b.r.getBlob(ctx, "/v1/artifact/blobs/"+d.String(), refQuery(b.id), d, rng)
}

// getBlob GETs blob d (or the range rng of it) from path.
func (r *Remote) getBlob(ctx context.Context, path string, q url.Values, d content.Digest, rng *content.Range) (io.ReadCloser, error) {
	req, err := r.newRequest(ctx, "GET", path, q, nil)
	if err != nil {
		return nil, err
	}
	want := http.StatusOK
	if rng != nil {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", rng.Start, rng.End))
		want = http.StatusPartialContent
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return nil, r.transportErr(err)
	}
	if resp.StatusCode != want {
		defer resp.Body.Close()
		if resp.StatusCode < 300 {
			return nil, fmt.Errorf("%w: daemon answered %d to a blob GET, want %d", ErrUnavailable, resp.StatusCode, want)
		}
		return nil, blobGetErr(d, decodeError(resp))
	}
	return transportBody{ReadCloser: resp.Body, r: r}, nil
}

// blobGetErr is the error of a blob GET the daemon refused. A blob is
// fetched by digest because a manifest (or the registration) names it, so
// a missing one is lost bytes, as local mode's storage.ErrNotFound says
// (an integrity failure, exit 4), not an unknown name (exit 3).
func blobGetErr(d content.Digest, err error) error {
	var re *RemoteError
	if errors.As(err, &re) && api.Code(re.Code) == api.CodeNotFound {
		return fmt.Errorf("blob %s: %s: %w", d.Short(), re.Message, storage.ErrNotFound)
	}
	return err
}

// transportBody marks the read errors of a response body (a blob's, or an
// artifact's content: a connection reset, a response cut short) with
// ErrUnavailable, as transportErr does for a request that gets no answer:
// the daemon could not be read, the bytes are not known to be bad. io.EOF
// passes unchanged, and the original error stays in the chain, so retries
// and the pipeline's check for a short read still see it.
type transportBody struct {
	io.ReadCloser
	r *Remote
}

func (b transportBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = b.r.transportErr(err)
	}
	return n, err
}

// Push uploads the content through the pipeline and registers it.
func (r *Remote) Push(ctx context.Context, req PushRequest) (*PushResult, error) {
	res, err := r.push(ctx, req)
	return res, mapErr(err)
}

func (r *Remote) push(ctx context.Context, req PushRequest) (*PushResult, error) {
	return runPush(ctx, req, pushTarget{
		blobs: r.blobs,
		opts:  transfer.PushOptions{Concurrency: r.concurrency, Retry: r.transferRetry(), TreeSchema: r.treeSchema},
		// A token limited to other names, or no valid token at all, is
		// refused here, before any byte is uploaded.
		precheck: func(ctx context.Context, name string) error {
			_, err := r.List(ctx, Query{Pattern: name, Limit: 1})
			return err
		},
		lookup: func(ctx context.Context, ref string) (string, bool, error) {
			a, err := r.Get(ctx, ref)
			if err != nil {
				return "", false, err
			}
			return a.Version, a.Deleted, nil
		},
		register: func(ctx context.Context, name, mediaType string, tr transfer.PushResult) (Artifact, error) {
			rr := RegisterRequest{Name: name, Version: req.Version, MediaType: mediaType, Labels: req.Labels,
				Producer: req.Producer, Inputs: req.Inputs, Tags: req.Tags, NoLatest: req.NoLatest,
				ContentDigest: tr.ContentDigest.String(), Size: tr.Size, ManifestDigest: tr.ManifestDigest.String()}
			var a Artifact
			err := r.do(ctx, request{method: "POST", path: "/v1/artifacts", body: rr, out: &a})
			return a, err
		},
		blobsMissing: func(err error) bool {
			var re *RemoteError
			return errors.As(err, &re) && re.Code == "missing_blobs"
		},
		storeID: "remote\x00" + r.base.String(),
	})
}

// live returns the artifact ref names, refusing a deleted one.
func (r *Remote) live(ctx context.Context, ref string) (*Artifact, error) {
	a, err := r.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	if a.Deleted {
		return nil, fmt.Errorf("%s (%s) was deleted: %w", ref, a.Ref, ErrNotFound)
	}
	return a, nil
}

// Pull streams the artifact (or a range) to w, verifying every chunk. The
// daemon appends the retrieval record (see pull).
func (r *Remote) Pull(ctx context.Context, ref string, w io.Writer, opts PullOptions) (*PullResult, error) {
	res, err := r.pull(ctx, ref, opts, pullVia{
		kind: KindFile,
		blobs: func(a *Artifact, store transfer.BlobStore, md content.Digest, po transfer.PullOptions) (transfer.PullResult, error) {
			return transfer.Pull(ctx, md, store, w, po)
		},
		content: func(_ *Artifact, s transfer.Stream, po transfer.PullOptions) (transfer.PullResult, error) {
			return transfer.PullStream(ctx, s, w, po)
		},
	})
	return res, mapErr(err)
}

// PullToPath writes the artifact to path as Local.PullToPath does (a
// tree as a directory). The daemon appends the retrieval record (see pull).
func (r *Remote) PullToPath(ctx context.Context, ref, path string, opts PullOptions) (*PullResult, error) {
	kind := "" // a file or a tree
	if st, err := os.Stat(path); (err == nil && st.IsDir()) || len(opts.Paths) > 0 {
		kind = KindTree // only a tree can be written into an existing directory, or have paths picked
	}
	res, err := r.pull(ctx, ref, opts, pullVia{
		kind: kind,
		blobs: func(a *Artifact, store transfer.BlobStore, md content.Digest, po transfer.PullOptions) (transfer.PullResult, error) {
			return transfer.PullPath(ctx, md, store, path, po)
		},
		content: func(a *Artifact, s transfer.Stream, po transfer.PullOptions) (transfer.PullResult, error) {
			return transfer.PullStreamToFile(ctx, s, path, po)
		},
	})
	if res != nil {
		res.Path = path
	}
	return res, mapErr(err)
}

func remoteManifestMatches(m content.Manifest, a *Artifact) bool {
	return m.Digest.String() == a.ContentDigest && m.Size == a.Size && string(m.Kind) == a.Kind
}

// pullVia are the two ways a pull reads the bytes: blobs by digest from
// the artifact's manifest (parallel chunk fetches), or one stream from the
// name-checked content route. kind is the only kind of artifact the caller
// can write ("" for either): the daemon refuses another before it records
// anything.
type pullVia struct {
	kind    string
	blobs   func(*Artifact, transfer.BlobStore, content.Digest, transfer.PullOptions) (transfer.PullResult, error)
	content func(*Artifact, transfer.Stream, transfer.PullOptions) (transfer.PullResult, error)
}

// pull asks the daemon for the pull (POST /v1/artifact/pulls), which
// resolves ref, checks the token and the range, and says how to read the
// bytes: from the storage backend on presigned URLs (direct transfers), or
// through the blob routes (the daemon has then appended the retrieval
// record either way) or, for a token limited to a name prefix, through the
// content route (which appends it as it serves). In every case the record
// is the daemon's and a pull makes exactly one.
func (r *Remote) pull(ctx context.Context, ref string, opts PullOptions, via pullVia) (*PullResult, error) {
	q := refQuery(ref)
	if opts.Range != "" {
		q.Set("range", opts.Range)
	}
	if via.kind != "" {
		q.Set("kind", via.kind)
	}
	var g PullGrant
	if err := r.do(ctx, request{method: "POST", path: "/v1/artifact/pulls", query: q, out: &g}); err != nil {
		return nil, fmt.Errorf("pull: %w", err)
	}
	a := &g.Artifact
	po := transfer.PullOptions{Concurrency: r.concurrency, Retry: r.transferRetry(), Paths: opts.Paths, TrustLinks: opts.TrustLinks}
	if opts.Progress != nil {
		po.Progress = func(p transfer.Progress) { opts.Progress(p.Written) }
	}
	if g.Range != "" {
		rng, err := content.ParseRange(g.Range, a.Size)
		if err != nil {
			return nil, fmt.Errorf("pull %s: %w: daemon answered range %q: %v", a.Ref, ErrUnavailable, g.Range, err)
		}
		po.Range = &rng
	}
	var (
		tr  transfer.PullResult
		err error
	)
	switch {
	case g.Direct != nil:
		tr, err = r.pullBlobs(a, po, func(a *Artifact, md content.Digest, po transfer.PullOptions) (transfer.PullResult, error) {
			return via.blobs(a, &directPull{r: r, id: a.ID, rng: g.Range, grant: g.Direct.Grant, manifest: md, manReq: g.Direct.Manifest}, md, po)
		})
	case g.Blobs:
		tr, err = r.pullBlobs(a, po, func(a *Artifact, md content.Digest, po transfer.PullOptions) (transfer.PullResult, error) {
			return via.blobs(a, r.blobs, md, po)
		})
	case g.Scoped:
		tr, err = r.pullBlobs(a, po, func(a *Artifact, md content.Digest, po transfer.PullOptions) (transfer.PullResult, error) {
			return via.blobs(a, scopedBlobs{r: r, id: a.ID}, md, po)
		})
	default:
		tr, err = r.pullContent(ctx, a, po, via.content)
	}
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", a.Ref, err)
	}
	res := &PullResult{Ref: a.Ref, ID: a.ID, ContentDigest: a.ContentDigest, Bytes: tr.Written, Kind: a.Kind, Range: g.Range}
	return res, nil
}

// pullBlobs reads the artifact's manifest and chunks by digest.
func (r *Remote) pullBlobs(a *Artifact, po transfer.PullOptions,
	fn func(*Artifact, content.Digest, transfer.PullOptions) (transfer.PullResult, error)) (transfer.PullResult, error) {
	md, err := content.ParseDigest(a.ManifestDigest)
	if err != nil {
		return transfer.PullResult{}, fmt.Errorf("%w: daemon sent a malformed manifest digest", ErrUnavailable)
	}
	// The manifest is checked against the registration before anything is
	// written, so a mismatch leaves the target as it was.
	po.Check = func(m content.Manifest) error {
		if !remoteManifestMatches(m, a) {
			return manifestMismatch(a.Ref, md, m, a.ContentDigest, a.Size)
		}
		return nil
	}
	return fn(a, md, po)
}

// pullContent reads the bytes from GET /v1/artifact/content (by ID, so the
// artifact the daemon granted). The daemon verifies every chunk before it
// sends it; the stream's length, and for a whole file its digest, are
// checked here. It is not retried: each GET appends a retrieval record.
func (r *Remote) pullContent(ctx context.Context, a *Artifact, po transfer.PullOptions,
	fn func(*Artifact, transfer.Stream, transfer.PullOptions) (transfer.PullResult, error)) (transfer.PullResult, error) {
	if a.Kind == KindTree {
		return transfer.PullResult{}, fmt.Errorf("%w: %s is a directory artifact, and this daemon does not let a token limited to a name prefix pull one "+
			"(it is older than this client: it serves a directory's files only by digest, which such a token may not read); upgrade the daemon, or use a token without a prefix", ErrForbidden, a.Ref)
	}
	d, err := content.ParseDigest(a.ContentDigest)
	if err != nil {
		return transfer.PullResult{}, fmt.Errorf("%w: daemon sent a malformed content digest", ErrUnavailable)
	}
	req, err := r.newRequest(ctx, "GET", "/v1/artifact/content", refQuery(a.ID), nil)
	if err != nil {
		return transfer.PullResult{}, err
	}
	want := http.StatusOK
	if po.Range != nil {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", po.Range.Start, po.Range.End))
		want = http.StatusPartialContent
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return transfer.PullResult{}, r.transportErr(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		if resp.StatusCode < 300 {
			return transfer.PullResult{}, fmt.Errorf("%w: daemon answered %d to a content GET, want %d", ErrUnavailable, resp.StatusCode, want)
		}
		return transfer.PullResult{}, decodeError(resp)
	}
	return fn(a, transfer.Stream{Body: transportBody{ReadCloser: resp.Body, r: r}, Digest: d, Size: a.Size, Range: po.Range}, po)
}

func refQuery(ref string) url.Values { return url.Values{"ref": {ref}} }

// Get returns the artifact ref names.
func (r *Remote) Get(ctx context.Context, ref string) (*Artifact, error) {
	var a Artifact
	if err := r.do(ctx, request{method: "GET", path: "/v1/artifact", query: refQuery(ref), idempotent: true, out: &a}); err != nil {
		return nil, mapErr(err)
	}
	return &a, nil
}

// List returns a page of artifacts (see Local.List for the pattern rules).
func (r *Remote) List(ctx context.Context, q Query) (*Page, error) {
	v := url.Values{}
	if q.Pattern != "" {
		v.Set("pattern", q.Pattern)
	}
	for _, s := range q.Selectors {
		v.Add("label", s)
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if !q.Before.IsZero() {
		v.Set("before", q.Before.UTC().Format(time.RFC3339Nano))
	}
	if q.IncludeDeleted {
		v.Set("deleted", "true")
	}
	if q.Newest {
		v.Set("order", "newest")
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	var p Page
	if err := r.do(ctx, request{method: "GET", path: "/v1/artifacts", query: v, idempotent: true, out: &p}); err != nil {
		return nil, mapErr(err)
	}
	return &p, nil
}

// command runs a non-idempotent call that answers with an artifact.
func (r *Remote) command(ctx context.Context, method, path string, q url.Values, body any) (*Artifact, error) {
	var a Artifact
	if err := r.do(ctx, request{method: method, path: path, query: q, body: body, out: &a}); err != nil {
		return nil, mapErr(err)
	}
	return &a, nil
}

// Tag points tag at the artifact ref names.
func (r *Remote) Tag(ctx context.Context, ref, tag string) (*Artifact, error) {
	return r.command(ctx, "PUT", "/v1/artifact/tags/"+url.PathEscape(tag), refQuery(ref), nil)
}

// Label sets and removes labels.
func (r *Remote) Label(ctx context.Context, ref string, set map[string]string, remove []string) (*Artifact, error) {
	return r.command(ctx, "PATCH", "/v1/artifact/labels", refQuery(ref), LabelsRequest{Set: set, Remove: remove})
}

// Delete tombstones the artifact.
func (r *Remote) Delete(ctx context.Context, ref string) (*Artifact, error) {
	return r.command(ctx, "DELETE", "/v1/artifact", refQuery(ref), nil)
}

// SetRetention changes the artifact's retention (ExpireAfter counts from
// its creation).
func (r *Remote) SetRetention(ctx context.Context, ref string, req RetentionRequest) (*Artifact, error) {
	body := RetentionBody{ExpiresAt: req.ExpiresAt, ImmutableUntil: req.ImmutableUntil}
	if req.ExpireAfter != nil {
		if *req.ExpireAfter <= 0 {
			return nil, fmt.Errorf("set retention: %w: expiry duration %s must be positive", ErrInvalid, *req.ExpireAfter)
		}
		body.ExpireAfter = req.ExpireAfter.String()
	}
	return r.command(ctx, "PUT", "/v1/artifact/retention", refQuery(ref), body)
}

// Hold places the legal hold HoldName.
func (r *Remote) Hold(ctx context.Context, ref, reason string) (*Artifact, error) {
	return r.command(ctx, "POST", "/v1/artifact/holds", refQuery(ref), HoldRequest{Hold: HoldName, Reason: reason})
}

// Release releases the legal hold HoldName.
func (r *Remote) Release(ctx context.Context, ref string) (*Artifact, error) {
	q := refQuery(ref)
	q.Set("hold", HoldName)
	return r.command(ctx, "DELETE", "/v1/artifact/holds", q, nil)
}

// Lineage walks the provenance graph from ref.
func (r *Remote) Lineage(ctx context.Context, ref string, opts LineageOptions) (*LineageGraph, error) {
	q := refQuery(ref)
	if opts.Direction != "" {
		q.Set("direction", string(opts.Direction))
	}
	if opts.Depth < 0 {
		return nil, fmt.Errorf("lineage: %w: negative depth %d", ErrInvalid, opts.Depth)
	}
	if opts.Depth > 0 {
		q.Set("depth", strconv.Itoa(opts.Depth))
	}
	var g LineageGraph
	if err := r.do(ctx, request{method: "GET", path: "/v1/artifact/lineage", query: q, idempotent: true, out: &g}); err != nil {
		return nil, mapErr(err)
	}
	return &g, nil
}

// Events returns up to limit events after seq, long-polling up to wait.
func (r *Remote) Events(ctx context.Context, after int64, limit int, wait time.Duration) ([]Event, error) {
	q := url.Values{"after": {strconv.FormatInt(after, 10)}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if wait > 0 {
		q.Set("wait", wait.String())
	}
	var resp EventsResponse
	if err := r.do(ctx, request{method: "GET", path: "/v1/events", query: q, idempotent: true, out: &resp}); err != nil {
		return nil, mapErr(err)
	}
	return resp.Events, nil
}

// VerifyLog has the daemon verify the hash chain.
func (r *Remote) VerifyLog(ctx context.Context) (*LogReport, error) {
	var rep LogReport
	if err := r.do(ctx, request{method: "GET", path: "/v1/log/verify", idempotent: true, out: &rep}); err != nil {
		return nil, mapErr(err)
	}
	return &rep, nil
}

// Rebuild has the daemon rebuild its views (admin scope).
func (r *Remote) Rebuild(ctx context.Context) error {
	return mapErr(r.do(ctx, request{method: "POST", path: "/v1/admin/rebuild"}))
}

// Health reports the daemon's backend.
func (r *Remote) Health(ctx context.Context) ([]BackendHealth, error) {
	var hs []BackendHealth
	if err := r.do(ctx, request{method: "GET", path: "/v1/backends/health", idempotent: true, out: &hs}); err != nil {
		return nil, mapErr(err)
	}
	return hs, nil
}

// CreateToken creates an API token (admin scope). The response holds the
// secret; it is shown only this once.
func (r *Remote) CreateToken(ctx context.Context, req TokenRequest) (*TokenCreated, error) {
	var out TokenCreated
	if err := r.do(ctx, request{method: "POST", path: "/v1/tokens", body: req, out: &out}); err != nil {
		return nil, mapErr(err)
	}
	return &out, nil
}

// ListTokens lists the API tokens, never their secrets (admin scope).
func (r *Remote) ListTokens(ctx context.Context) ([]TokenInfo, error) {
	var out []TokenInfo
	if err := r.do(ctx, request{method: "GET", path: "/v1/tokens", idempotent: true, out: &out}); err != nil {
		return nil, mapErr(err)
	}
	return out, nil
}

// RevokeToken revokes the token with the ID (admin scope). Revoking a
// revoked token changes nothing.
func (r *Remote) RevokeToken(ctx context.Context, id string) (*TokenInfo, error) {
	var out TokenInfo
	if err := r.do(ctx, request{method: "DELETE", path: "/v1/tokens/" + url.PathEscape(id), idempotent: true, out: &out}); err != nil {
		return nil, mapErr(err)
	}
	return &out, nil
}
