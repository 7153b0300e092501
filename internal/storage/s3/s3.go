// Package s3 implements storage.Backend on an S3-compatible bucket (AWS S3,
// Ceph RADOS Gateway, SeaweedFS, MinIO) with aws-sdk-go-v2. No SDK type
// appears in its API: callers see Config, Backend and the storage sentinels.
//
// # Layout
//
// A blob for digest d is the object "<prefix><d.Key()>", e.g.
//
//	artstore/sha256/ba/78/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
//
// the same layout the local backend uses below its root, so a directory and a
// bucket can be copied onto each other key for key. Walk lists only below
// "<prefix>sha256/" and skips every key content.ParseKey rejects.
//
// # Writes
//
// Put first asks HeadObject whether the blob exists with the expected size.
// If it does, it refreshes the object's modification time by copying the
// object onto itself (CopyObject with MetadataDirective REPLACE) and drains
// the reader through a content.VerifyingReader without uploading: wrong
// bytes still fail with storage.ErrDigestMismatch. The refresh keeps the
// storage.Backend promise that ModTime is at or after the start of every
// successful Put, which garbage collection's grace window relies on. Objects
// too large for CopyObject (over 5 GiB), and servers that refuse the
// self-copy, get a verified re-upload of the same bytes instead.
//
// A blob of at most Config.MultipartThreshold bytes is read into memory
// (bounded by the threshold) through a VerifyingReader; only once size and
// digest are verified is it sent, as one PutObject from a seekable buffer,
// with "If-None-Match: *" so a concurrent writer's object is never replaced
// (412 Precondition Failed means another Put won: created=false). Servers that
// answer the header with 501 Not Implemented get plain puts from then on; the
// Backend remembers that.
//
// A larger blob is sent as a multipart upload: the stream is cut into parts
// of Config.PartSize, each buffered (at most Config.Concurrency parts in
// memory) and uploaded by up to Config.Concurrency goroutines, while the
// digest is computed over the whole stream. The upload is completed only if
// every part succeeded and the stream had exactly the declared size and
// digest; otherwise it is aborted, so nothing half-written remains and no
// parts linger. S3 makes an object visible only on CompleteMultipartUpload,
// so readers never see a partial blob. Servers that ignore "If-None-Match"
// on completion may let a concurrent racer replace the object with the same
// verified bytes, which is harmless for content-addressed blobs. The ETag that
// CompleteMultipartUpload returns is never used (Ceph RGW 16.2 returns an
// empty one; gofakes3 returns one that differs from HeadObject's).
//
// # Checksums
//
// The SDK's default "when supported" request checksums need a seekable body
// or a trailer that plain-HTTP endpoints refuse, and Ceph RGW 16.2 does not
// implement the flexible checksum headers; the client therefore computes
// request checksums and validates response checksums only when an operation
// requires them. Integrity comes from artstore itself and from the signature:
// a single-part blob is verified against its digest before it is sent, a
// multipart upload is completed only once the whole stream has verified;
// every body is sent from a seekable buffer, so SigV4 signs its SHA-256 and
// the server checks it; and readers verify Get's bytes with a
// content.VerifyingReader.
//
// # Modification times
//
// S3 reports Last-Modified with one-second resolution; Walk truncates the
// millisecond times of listings to match Head. Info.ModTime is therefore at
// or after the start of the Put truncated to the second.
//
// # Errors and retries
//
// Every SDK error goes through one function, mapError, which maps it to the
// storage sentinels: a missing key to storage.ErrNotFound; a missing bucket,
// refused credentials, throttling, 5xx and transport failures to
// storage.ErrUnavailable; 416 to storage.ErrInvalidRange. The SDK's standard
// retryer retries throttling (503 SlowDown), 5xx, connection resets and
// timeouts with jittered backoff, at most Config.MaxAttempts times per
// request.
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
)

// Defaults and limits. The limits are AWS S3's; Ceph RGW enforces the same
// minimum part size.
const (
	// DefaultMultipartThreshold is the largest blob sent with one PutObject.
	DefaultMultipartThreshold = 16 << 20
	// DefaultPartSize is the size of each part of a multipart upload.
	DefaultPartSize = 8 << 20
	// DefaultConcurrency is the number of parts uploaded at once (and held
	// in memory) per multipart Put.
	DefaultConcurrency = 4
	// DefaultMaxAttempts bounds the attempts per request, retries included.
	DefaultMaxAttempts = 5
	// DefaultResponseTimeout bounds the wait for a response's headers once a
	// request has been sent. It does not bound the transfer of a body.
	DefaultResponseTimeout = 2 * time.Minute
	// MinPartSize is the smallest part S3 accepts (except the last one).
	MinPartSize = 5 << 20
	// MaxParts is the largest number of parts in one multipart upload.
	MaxParts = 10000
	// MaxSinglePut is the largest object one PutObject (or CopyObject) may
	// write.
	MaxSinglePut = 5 << 30
	// DefaultRegion is used with a custom Endpoint when no region is
	// configured; S3-compatible servers accept any region in signatures.
	DefaultRegion = "us-east-1"
)

// Config describes one S3 backend. Zero values select the defaults above.
type Config struct {
	// ID is the backend's configured name (storage.Backend.ID); required.
	ID string
	// Bucket holds the blobs; required. It must exist: the backend never
	// creates buckets.
	Bucket string
	// Prefix is prepended to every key, e.g. "artstore/". A non-empty
	// prefix without a trailing slash gets one.
	Prefix string
	// Region signs the requests. Empty: the AWS configuration chain's region,
	// or DefaultRegion when Endpoint is set.
	Region string
	// Endpoint is the server's base URL, e.g. "http://127.0.0.1:7480".
	// Empty: AWS S3 for the region.
	Endpoint string
	// PathStyle addresses the bucket in the path (http://host/bucket/key)
	// instead of the host name; most self-hosted servers need it.
	PathStyle bool
	// AccessKeyID and SecretAccessKey (with an optional SessionToken) are
	// explicit credentials. Both empty: the standard AWS chain (environment,
	// shared files, SSO, instance roles).
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// MultipartThreshold is the largest blob sent with a single PutObject;
	// such a blob is buffered in memory. At most MaxSinglePut.
	MultipartThreshold int64
	// PartSize is the size of a multipart upload's parts (the last part may
	// be smaller), at least MinPartSize. Put raises it for a blob that
	// would otherwise need more than MaxParts parts.
	PartSize int64
	// MinPartSize lowers the smallest permitted PartSize (default and real
	// S3: MinPartSize). Only tests against fakes that accept tiny parts set it.
	MinPartSize int64
	// Concurrency is the number of parts uploaded at once per Put; it also
	// bounds the parts held in memory (Concurrency × PartSize bytes).
	Concurrency int
	// MaxAttempts bounds the attempts per request, the first one included.
	MaxAttempts int
	// ResponseTimeout bounds the wait for response headers after a request
	// was sent (not the transfer of a body). Ignored when HTTPClient is set.
	ResponseTimeout time.Duration
	// HTTPClient replaces the SDK's HTTP client (tests).
	HTTPClient *http.Client

	// backoff replaces the retryer's jittered exponential backoff (tests).
	backoff retry.BackoffDelayer
}

// Backend is a storage.Backend on an S3 bucket. It is safe for concurrent use
// by several goroutines and by several processes sharing the bucket.
type Backend struct {
	id       string
	bucket   string
	prefix   string
	endpoint string // for messages
	client   *s3.Client
	cfg      Config // as given to New

	threshold   int64
	partSize    int64
	minPartSize int64
	concurrency int
	maxAttempts int

	// noConditionalPut and noConditionalComplete are set once the server
	// answered "If-None-Match: *" on PutObject or CompleteMultipartUpload
	// with 501 Not Implemented; later requests are sent without the header.
	noConditionalPut      atomic.Bool
	noConditionalComplete atomic.Bool
}

var _ storage.Backend = (*Backend)(nil)

// New validates cfg and returns the backend. It does not contact the server
// (use Health for that). It reads the AWS configuration (environment, shared
// config files) for what cfg leaves unset; credentials from the AWS chain are
// resolved on the first request.
func New(ctx context.Context, cfg Config) (*Backend, error) {
	b, err := newBackend(cfg)
	if err != nil {
		return nil, err
	}
	b.client, err = newClient(ctx, cfg, b.concurrency, b.maxAttempts)
	if err != nil {
		return nil, fmt.Errorf("s3 backend %q: %w", cfg.ID, err)
	}
	return b, nil
}

// newBackend validates cfg and fills in defaults, without building a client.
func newBackend(cfg Config) (*Backend, error) {
	fail := func(format string, a ...any) (*Backend, error) {
		return nil, fmt.Errorf("s3 backend %q: "+format, append([]any{cfg.ID}, a...)...)
	}
	if cfg.ID == "" {
		return nil, errors.New("s3 backend: empty ID")
	}
	if cfg.Bucket == "" {
		return fail("no bucket given")
	}
	if (cfg.AccessKeyID == "") != (cfg.SecretAccessKey == "") {
		return fail("give both an access key ID and a secret access key, or neither (to use the AWS credential chain)")
	}
	if strings.HasPrefix(cfg.Prefix, "/") {
		return fail("prefix %q must not start with '/'", cfg.Prefix)
	}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fail("endpoint %q is not an http:// or https:// URL (e.g. http://127.0.0.1:7480)", cfg.Endpoint)
		}
	}
	b := &Backend{
		id:          cfg.ID,
		cfg:         cfg,
		bucket:      cfg.Bucket,
		prefix:      cfg.Prefix,
		endpoint:    cfg.Endpoint,
		threshold:   orDefault(cfg.MultipartThreshold, DefaultMultipartThreshold),
		partSize:    orDefault(cfg.PartSize, DefaultPartSize),
		minPartSize: orDefault(cfg.MinPartSize, MinPartSize),
		concurrency: int(orDefault(int64(cfg.Concurrency), DefaultConcurrency)),
		maxAttempts: int(orDefault(int64(cfg.MaxAttempts), DefaultMaxAttempts)),
	}
	if b.prefix != "" && !strings.HasSuffix(b.prefix, "/") {
		b.prefix += "/"
	}
	if b.endpoint == "" {
		b.endpoint = "AWS S3"
	}
	switch {
	case cfg.MultipartThreshold < 0 || b.threshold > MaxSinglePut:
		return fail("multipart threshold %d is outside 1..%d bytes", cfg.MultipartThreshold, int64(MaxSinglePut))
	case cfg.MinPartSize < 0:
		return fail("minimum part size %d is negative", cfg.MinPartSize)
	case cfg.PartSize < 0 || b.partSize < b.minPartSize || b.partSize > MaxSinglePut:
		return fail("part size %d is outside %d..%d bytes", cfg.PartSize, b.minPartSize, int64(MaxSinglePut))
	case cfg.Concurrency < 0:
		return fail("concurrency %d is negative", cfg.Concurrency)
	case cfg.MaxAttempts < 0:
		return fail("max attempts %d is negative", cfg.MaxAttempts)
	case cfg.ResponseTimeout < 0:
		return fail("response timeout %v is negative", cfg.ResponseTimeout)
	}
	return b, nil
}

// Config returns the configuration the backend was opened with, as given
// to New (zero fields not replaced by their defaults).
func (b *Backend) Config() Config { return b.cfg }

func orDefault(v, def int64) int64 {
	if v == 0 {
		return def
	}
	return v
}

// newClient builds the SDK client: credentials and region from cfg or the
// AWS chain, a bounded standard retryer, and checksums only where required.
func newClient(ctx context.Context, cfg Config, concurrency, attempts int) (*s3.Client, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				if cfg.backoff != nil {
					o.Backoff = cfg.backoff
				}
			})
		}),
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)))
	}
	// A caller's HTTPClient is set on the S3 client below, not here: the
	// AWS chain (AWS_CA_BUNDLE) may need to adjust the loader's client,
	// which only the SDK's own buildable client allows.
	if cfg.HTTPClient == nil {
		timeout := cfg.ResponseTimeout
		if timeout == 0 {
			timeout = DefaultResponseTimeout
		}
		opts = append(opts, config.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			tr.ResponseHeaderTimeout = timeout
			// Keep a connection per concurrent part plus the odd Head/Get.
			if tr.MaxIdleConnsPerHost < 2*concurrency {
				tr.MaxIdleConnsPerHost = 2 * concurrency
			}
		})))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.AccessKeyID == "" && awsCfg.Credentials != nil {
		awsCfg.Credentials = chainCredentials{awsCfg.Credentials}
	}
	if awsCfg.Region == "" {
		if cfg.Endpoint == "" {
			return nil, errors.New("no region configured: set the backend's region or AWS_REGION")
		}
		awsCfg.Region = DefaultRegion
	}
	return s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
		if cfg.HTTPClient != nil {
			o.HTTPClient = cfg.HTTPClient
		}
		// The default ("when supported") wants seekable bodies or trailing
		// checksums, which plain-HTTP endpoints and RGW 16.2 refuse.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}), nil
}

// chainCredentials marks a failure of the AWS credential chain as
// storage.ErrUnavailable, with a hint, instead of an unclassified error deep
// inside the SDK's.
type chainCredentials struct{ aws.CredentialsProvider }

func (c chainCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := c.CredentialsProvider.Retrieve(ctx)
	if err != nil && ctx.Err() == nil {
		return creds, fmt.Errorf("%w: no usable AWS credentials (configure the backend's access keys, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance role): %w",
			storage.ErrUnavailable, err)
	}
	return creds, err
}

// ID returns the backend's configured name.
func (b *Backend) ID() string { return b.id }

// Bucket returns the bucket the backend stores blobs in.
func (b *Backend) Bucket() string { return b.bucket }

// Prefix returns the key prefix (empty or ending in "/").
func (b *Backend) Prefix() string { return b.prefix }

// key returns the object key of d, or an error wrapping storage.ErrInvalidKey
// for the zero digest.
func (b *Backend) key(op string, d content.Digest) (string, error) {
	if d.IsZero() || !d.Algorithm().Available() {
		return "", fmt.Errorf("s3 backend %q: %s: %w: no valid digest given", b.id, op, storage.ErrInvalidKey)
	}
	return b.prefix + d.Key(), nil
}

// errf wraps err with the backend, operation and digest.
func (b *Backend) errf(op string, d content.Digest, format string, a ...any) error {
	return fmt.Errorf("s3 backend %q: %s %s: "+format, append([]any{b.id, op, d}, a...)...)
}

// fail maps an SDK error and wraps it with the backend, operation, digest
// and object location.
func (b *Backend) fail(op string, d content.Digest, key string, err error) error {
	return fmt.Errorf("s3 backend %q: %s %s (s3://%s/%s at %s): %w", b.id, op, d, b.bucket, key, b.endpoint, mapError(err))
}

// Get opens the blob, or the inclusive range rng of it. See storage.Backend.
//
// A range whose end lies past the object fails with storage.ErrInvalidRange
// (S3 itself would clip it): Get checks the Content-Range of the response.
func (b *Backend) Get(ctx context.Context, d content.Digest, rng *content.Range) (io.ReadCloser, error) {
	key, err := b.key("get", d)
	if err != nil {
		return nil, err
	}
	in := &s3.GetObjectInput{Bucket: &b.bucket, Key: &key}
	if rng != nil {
		if rng.Start < 0 || rng.End < rng.Start {
			return nil, b.errf("get", d, "%w %d-%d: start must be >= 0 and <= end", storage.ErrInvalidRange, rng.Start, rng.End)
		}
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", rng.Start, rng.End))
	}
	out, err := b.client.GetObject(ctx, in)
	if err != nil {
		return nil, b.fail("get", d, key, b.confirmNotFound(ctx, err))
	}
	out.Body = &body{rc: out.Body, b: b, d: d, key: key}
	if rng == nil {
		return out.Body, nil
	}
	rc, err := b.checkRange(out, *rng)
	if err != nil {
		out.Body.Close()
		return nil, b.errf("get", d, "%w", err)
	}
	return rc, nil
}

// body is a GetObject response body whose read errors say what failed: a
// connection lost mid-object is storage.ErrUnavailable.
type body struct {
	rc  io.ReadCloser
	b   *Backend
	d   content.Digest
	key string
}

func (r *body) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if err != nil && err != io.EOF {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("%w: the connection ended before the whole object arrived: %w", storage.ErrUnavailable, err)
		}
		err = r.b.fail("get: read", r.d, r.key, err)
	}
	return n, err
}

func (r *body) Close() error { return r.rc.Close() }

// checkRange verifies that a ranged GetObject returned exactly rng. A server
// that ignored the Range header (200 with the whole object) is served by
// skipping to the range.
func (b *Backend) checkRange(out *s3.GetObjectOutput, rng content.Range) (io.ReadCloser, error) {
	if cr := aws.ToString(out.ContentRange); cr != "" {
		start, end, size, err := parseContentRange(cr)
		if err != nil {
			return nil, err
		}
		if err := rng.Validate(size); err != nil {
			return nil, err
		}
		if start != rng.Start || end != rng.End {
			return nil, fmt.Errorf("server answered range %d-%d with %q", rng.Start, rng.End, cr)
		}
		return out.Body, nil
	}
	// No Content-Range: the whole object came back.
	size := aws.ToInt64(out.ContentLength)
	if err := rng.Validate(size); err != nil {
		return nil, err
	}
	if _, err := io.CopyN(io.Discard, out.Body, rng.Start); err != nil {
		return nil, fmt.Errorf("skip to offset %d: %w", rng.Start, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(out.Body, rng.Length()), out.Body}, nil
}

// parseContentRange parses "bytes START-END/SIZE".
func parseContentRange(s string) (start, end, size int64, err error) {
	bad := func() (int64, int64, int64, error) {
		return 0, 0, 0, fmt.Errorf("server sent a malformed Content-Range %q", s)
	}
	spec, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return bad()
	}
	rng, total, ok := strings.Cut(spec, "/")
	if !ok {
		return bad()
	}
	a, z, ok := strings.Cut(rng, "-")
	if !ok {
		return bad()
	}
	start, ok1 := parseOffset(a)
	end, ok2 := parseOffset(z)
	size, ok3 := parseOffset(total)
	if !ok1 || !ok2 || !ok3 || end < start || end >= size {
		return bad()
	}
	return start, end, size, nil
}

// parseOffset parses a non-empty string of decimal digits (no sign) that
// fits an int64.
func parseOffset(s string) (int64, bool) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// Head returns the blob's size and modification time. See storage.Backend.
// ModTime has S3's resolution of one second.
func (b *Backend) Head(ctx context.Context, d content.Digest) (storage.Info, error) {
	key, err := b.key("head", d)
	if err != nil {
		return storage.Info{}, err
	}
	out, err := b.headObject(ctx, key)
	if err != nil {
		return storage.Info{}, b.fail("head", d, key, err)
	}
	return storage.Info{Digest: d, Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified)}, nil
}

// headObject is HeadObject with a missing bucket told apart from a missing
// key. S3 answers HEAD for both with a bare 404, and a vanished bucket must
// read as storage.ErrUnavailable, never as "every blob is missing"; so a 404
// is confirmed with HeadBucket. The returned error is already mapped.
func (b *Backend) headObject(ctx context.Context, key string) (*s3.HeadObjectOutput, error) {
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.bucket, Key: &key})
	if err == nil {
		return out, nil
	}
	return nil, b.confirmNotFound(ctx, err)
}

// confirmNotFound maps err and, when that says the key is missing but no
// S3 error code says so (HEAD has no body; a GET's body may go unread),
// asks HeadBucket whether the bucket is what is missing.
func (b *Backend) confirmNotFound(ctx context.Context, err error) error {
	mapped := mapError(err)
	if !errors.Is(mapped, storage.ErrNotFound) || apiCode(err) == "NoSuchKey" {
		return mapped
	}
	if _, berr := b.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &b.bucket}); berr != nil {
		if status(berr) == http.StatusNotFound {
			return fmt.Errorf("%w: bucket %q does not exist: %w", storage.ErrUnavailable, b.bucket, berr)
		}
		return mapError(berr)
	}
	return mapped
}

// Delete removes the blob and reports whether it existed. See
// storage.Backend. S3's DeleteObject succeeds for missing keys, so Delete
// asks HeadObject first; a concurrent Delete of the same blob may make both
// report true.
func (b *Backend) Delete(ctx context.Context, d content.Digest) (bool, error) {
	key, err := b.key("delete", d)
	if err != nil {
		return false, err
	}
	if _, err := b.headObject(ctx, key); err != nil {
		err = b.fail("delete", d, key, err)
		if errors.Is(err, storage.ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	if _, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.bucket, Key: &key}); err != nil {
		return false, b.fail("delete", d, key, err)
	}
	return true, nil
}

// Walk lists every blob below "<prefix>sha256/", page by page. See
// storage.Backend. Keys that are not exactly a digest key (foreign objects,
// leftovers of other tools) are skipped.
func (b *Backend) Walk(ctx context.Context, fn func(storage.Info) error) error {
	under := b.prefix + string(content.SHA256) + "/"
	p := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{Bucket: &b.bucket, Prefix: &under})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("s3 backend %q: walk s3://%s/%s at %s: %w", b.id, b.bucket, under, b.endpoint, mapError(err))
		}
		for _, obj := range page.Contents {
			d, ok := b.parseKey(aws.ToString(obj.Key))
			if !ok {
				continue
			}
			// Listings carry milliseconds, HeadObject's Last-Modified only
			// seconds: truncate so both report the same ModTime.
			mt := aws.ToTime(obj.LastModified).Truncate(time.Second)
			info := storage.Info{Digest: d, Size: aws.ToInt64(obj.Size), ModTime: mt}
			if err := fn(info); err != nil {
				return err
			}
		}
	}
	return nil
}

// parseKey returns the digest of an object key below the prefix.
func (b *Backend) parseKey(key string) (content.Digest, bool) {
	rest, ok := strings.CutPrefix(key, b.prefix)
	if !ok {
		return content.Digest{}, false
	}
	d, err := content.ParseKey(rest)
	return d, err == nil
}

// Health checks with HeadBucket that the bucket exists and the credentials
// are accepted. See storage.Backend; capacity is unknown (-1).
func (b *Backend) Health(ctx context.Context) storage.Health {
	h := storage.Health{TotalBytes: -1, UsedBytes: -1, FreeBytes: -1}
	// At most two attempts: a health check should answer quickly.
	_, err := b.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &b.bucket}, func(o *s3.Options) {
		o.RetryMaxAttempts = min(b.maxAttempts, 2)
	})
	if err != nil {
		h.Detail = fmt.Sprintf("bucket %q at %s: %v", b.bucket, b.endpoint, describeHealth(err))
		return h
	}
	h.Healthy = true
	h.Detail = fmt.Sprintf("bucket %q at %s reachable, credentials accepted", b.bucket, b.endpoint)
	return h
}

// describeHealth turns a HeadBucket error (which has no body, only a status)
// into something a user can act on.
func describeHealth(err error) string {
	switch status(err) {
	case http.StatusNotFound:
		return "bucket does not exist (create it, or fix the bucket name or endpoint)"
	case http.StatusForbidden:
		return "access denied (check the access key, secret key and the bucket's policy)"
	case http.StatusBadRequest, http.StatusMovedPermanently:
		return fmt.Sprintf("request refused (wrong region or addressing style?): %v", err)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return fmt.Sprintf("cannot reach the server: %v", err)
	}
	return err.Error()
}
