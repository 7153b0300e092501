package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
)

// abortTimeout bounds the AbortMultipartUpload sent after a failed upload,
// which runs even when the caller's context is already cancelled.
const abortTimeout = time.Minute

// Put stores size bytes from r under d. See storage.Backend and the package
// documentation for the write protocol.
func (b *Backend) Put(ctx context.Context, d content.Digest, size int64, r io.Reader) (created bool, err error) {
	return b.put(ctx, d, size, r, false)
}

var _ storage.VerifiedPutter = (*Backend)(nil)

// PutVerified is Put for bytes the caller digested itself
// (storage.VerifiedPutter): it skips Put's SHA-256 pass over a blob sent
// in one PutObject. The server still checks the bytes, against the
// payload hash the request signs (d itself), and Put's size checks stay.
// A blob over the multipart threshold takes Put's verifying path.
func (b *Backend) PutVerified(ctx context.Context, d content.Digest, size int64, r io.Reader) (created bool, err error) {
	return b.put(ctx, d, size, r, true)
}

// put is Put, and with digested PutVerified.
func (b *Backend) put(ctx context.Context, d content.Digest, size int64, r io.Reader, digested bool) (created bool, err error) {
	key, err := b.key("put", d)
	if err != nil {
		return false, err
	}
	if size < 0 {
		return false, b.errf("put", d, "size %d is negative", size)
	}
	if err := ctx.Err(); err != nil {
		return false, b.errf("put", d, "%w", err)
	}
	if digested && size <= b.threshold && !b.noConditionalPut.Load() {
		// The caller has just found the blob missing (the push pipeline's
		// check): a conditional PutObject settles both cases in one
		// request, and a 412 leads to the refresh a re-put owes.
		return b.upload(ctx, key, d, size, r, true, true)
	}
	head, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.bucket, Key: &key})
	switch {
	case err == nil && aws.ToInt64(head.ContentLength) == size:
		touched, err := b.touch(ctx, key, size)
		if err != nil {
			return false, b.fail("put: refresh modification time of", d, key, err)
		}
		if touched {
			return false, b.drain(ctx, d, size, r, digested)
		}
		// Too large to copy, refused, or deleted meanwhile: upload the same
		// verified bytes again (unconditionally: it may still exist).
		_, err = b.upload(ctx, key, d, size, r, false, digested)
		return false, err
	case err == nil:
		// Damage from outside artstore: replace it with verified bytes.
		return b.upload(ctx, key, d, size, r, false, digested)
	case errors.Is(mapError(err), storage.ErrNotFound):
		return b.upload(ctx, key, d, size, r, true, digested)
	default:
		return false, b.fail("put", d, key, err)
	}
}

// touch refreshes the object's modification time by copying it onto itself
// with its metadata replaced. It reports false, without error, when the copy
// is impossible (too large for CopyObject), the object vanished, or the
// server refused the request as such; the caller then re-uploads. Errors that
// say the backend is unusable are returned.
func (b *Backend) touch(ctx context.Context, key string, size int64) (bool, error) {
	if size > MaxSinglePut {
		return false, nil
	}
	src := (&url.URL{Path: b.bucket + "/" + key}).EscapedPath()
	_, err := b.client.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket:            &b.bucket,
		Key:               &key,
		CopySource:        &src,
		MetadataDirective: types.MetadataDirectiveReplace,
	})
	if err == nil {
		return true, nil
	}
	mapped := mapError(err)
	if errors.Is(mapped, storage.ErrUnavailable) || ctx.Err() != nil {
		return false, err
	}
	return false, nil
}

// drain reads r to its end through a VerifyingReader without storing
// anything, so a caller's pipeline never blocks and wrong bytes still fail.
// Digested bytes are only counted.
func (b *Backend) drain(ctx context.Context, d content.Digest, size int64, r io.Reader, digested bool) error {
	var src io.Reader = ctxReader{ctx, r}
	if !digested {
		src = content.NewVerifyingReader(src, d, size)
	}
	n, err := io.Copy(io.Discard, src)
	if err == nil && n != size {
		err = &content.MismatchError{Expected: d, ExpectedSize: size, ActualSize: n}
	}
	if err != nil {
		return b.errf("put", d, "blob already stored, but the bytes given: %w", err)
	}
	return nil
}

// upload writes a new object; conditional asks the server not to replace an
// existing one. created is false when the server reported that another
// writer created the object first. Bytes the caller digested itself
// (digested) are not hashed again on the way to one PutObject.
func (b *Backend) upload(ctx context.Context, key string, d content.Digest, size int64, r io.Reader, conditional, digested bool) (created bool, err error) {
	if size > b.threshold {
		return b.putMultipart(ctx, key, d, size, content.NewVerifyingReader(ctxReader{ctx, r}, d, size), conditional)
	}
	// A seekable source (the push pipeline's chunks, a test's buffer) is
	// sent again after a failure worth retrying; a stream (a daemon
	// relaying a client's PUT) is not, and its caller sends it again.
	seeker, _ := r.(io.Seeker)
	var start int64
	if seeker != nil {
		if start, err = seeker.Seek(0, io.SeekCurrent); err != nil {
			seeker = nil
		}
	}
	for attempt := 1; ; attempt++ {
		var src io.Reader = ctxReader{ctx, r}
		if !digested {
			src = content.NewVerifyingReader(src, d, size)
		}
		created, err = b.putSingle(ctx, key, d, size, src, conditional)
		if err == nil || seeker == nil || attempt >= b.maxAttempts || ctx.Err() != nil ||
			!errors.Is(err, storage.ErrUnavailable) || errors.Is(err, storage.ErrDigestMismatch) {
			return created, err
		}
		if _, serr := seeker.Seek(start, io.SeekStart); serr != nil {
			return created, err
		}
		if !errors.Is(err, errResend) {
			if err := b.sleep(ctx, attempt, err); err != nil {
				return false, b.errf("put", d, "%w", err)
			}
		}
	}
}

// errResend is putSingle's failure after a server refused
// "If-None-Match: *" with 501 Not Implemented: the stream was spent on that
// attempt, and the next one goes without the header.
var errResend = fmt.Errorf("%w: the server does not support conditional writes; put the blob again", storage.ErrUnavailable)

// sleep waits before the next attempt of a Put the backend retries itself,
// as the SDK's retryer would (jittered exponential backoff).
func (b *Backend) sleep(ctx context.Context, attempt int, cause error) error {
	var delay time.Duration
	var err error
	if b.cfg.backoff != nil {
		delay, err = b.cfg.backoff.BackoffDelay(attempt, cause)
	} else {
		delay, err = retry.NewExponentialJitterBackoff(retry.DefaultMaxBackoff).BackoffDelay(attempt, cause)
	}
	if err != nil {
		return err
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// putSingle streams the blob to one PutObject whose signature covers the
// payload hash d (so the server checks the bytes), without buffering it.
// The body holds back its last byte until src has ended at exactly size
// bytes (and, for a VerifyingReader, with digest d): a stream that turns
// out wrong never reaches the server whole, the request is cut short, and
// nothing is stored. Such a body cannot be sent twice, so the SDK does not
// retry it; callers retry Put (the push pipeline does, and the daemon's
// clients re-send a blob PUT).
func (b *Backend) putSingle(ctx context.Context, key string, d content.Digest, size int64, src io.Reader, conditional bool) (bool, error) {
	var bodyErr error
	var body *sealedBody
	sent := false
	created, err := b.conditionalWrite(ctx, "put", d, key, size, conditional, &b.noConditionalPut, func(ifNoneMatch bool) error {
		if sent {
			// The first attempt spent the stream (a server that refused
			// If-None-Match with 501): the bytes must be sent again.
			return errResend
		}
		sent = true
		body = &sealedBody{r: src, left: size}
		in := &s3.PutObjectInput{
			Bucket:        &b.bucket,
			Key:           &key,
			Body:          body,
			ContentLength: aws.Int64(size),
		}
		if ifNoneMatch {
			in.IfNoneMatch = aws.String("*")
		}
		_, err := b.client.PutObject(ctx, in, withPayloadHash(d.Hex()), func(o *s3.Options) { o.RetryMaxAttempts = 1 })
		bodyErr = body.failure()
		return err
	})
	if err == nil && !created && body != nil && bodyErr == nil {
		// Another writer's object won (412): read the rest of the stream,
		// still checking its size (and digest), as a re-put does.
		bodyErr = body.rest()
	}
	if bodyErr != nil {
		return false, b.errf("put", d, "%w", bodyErr)
	}
	return created, err
}

// sealedBody yields the left bytes of r, holding back the last one until r
// has ended cleanly right after it (expectEOF): a short, long or (for a
// VerifyingReader) mismatched stream fails before the server has the whole
// body. err keeps the first failure of r.
type sealedBody struct {
	mu      sync.Mutex
	r       io.Reader
	left    int64
	checked bool
	err     error
	// detached is set once the request has returned: the transport may
	// still hold the body, and must read nothing more from it.
	detached bool
}

// Read is the transport's read.
func (s *sealedBody) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.detached {
		return 0, errors.New("s3: request body read after the request returned")
	}
	return s.read(p)
}

// rest detaches the body from the request and reads what is left of it,
// with the same checks, returning the first failure.
func (s *sealedBody) rest() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.detached = true
	buf := make([]byte, 32<<10)
	for {
		_, err := s.read(buf)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (s *sealedBody) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.detached = true
	return s.err
}

func (s *sealedBody) read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.left == 0 {
		if !s.checked {
			s.checked = true
			if err := expectEOF(s.r); err != nil {
				s.err = err
				return 0, err
			}
		}
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if s.left > 1 {
		n, err := s.r.Read(p[:min(int64(len(p)), s.left-1)])
		s.left -= int64(n)
		if err == io.EOF {
			err = fmt.Errorf("%w: the stream ended %d bytes before its declared size", storage.ErrDigestMismatch, s.left)
		}
		if err != nil {
			s.err = err
		}
		return n, err
	}
	var last [1]byte
	if _, err := io.ReadFull(s.r, last[:]); err != nil {
		if err == io.EOF {
			err = fmt.Errorf("%w: the stream ended 1 byte before its declared size", storage.ErrDigestMismatch)
		}
		s.err = err
		return 0, err
	}
	s.checked = true
	if err := expectEOF(s.r); err != nil {
		s.err = err
		return 0, err
	}
	s.left = 0
	p[0] = last[0]
	return 1, nil
}

// conditionalWrite runs send, a write that creates the object at key, until
// it is settled. send adds "If-None-Match: *" when told to: when conditional
// is set and the server has not answered that header with 501 Not
// Implemented before (unsupported records that it did, and send is then
// retried without it). created is true when send succeeded, and false when
// the header found that another writer had created the object first (which
// is then refreshed, see afterLostRace). Other errors of send are reported
// as failures of op.
func (b *Backend) conditionalWrite(ctx context.Context, op string, d content.Digest, key string, size int64,
	conditional bool, unsupported *atomic.Bool, send func(ifNoneMatch bool) error) (created bool, err error) {
	for {
		ifNoneMatch := conditional && !unsupported.Load()
		err := send(ifNoneMatch)
		switch {
		case err == nil:
			return true, nil
		case ifNoneMatch && isPreconditionFailed(err):
			// A multipart caller aborts its upload; the other writer's object stays.
			return false, b.afterLostRace(ctx, d, key, size)
		case ifNoneMatch && isNotImplemented(err):
			unsupported.Store(true)
			continue
		}
		return false, b.fail(op, d, key, err)
	}
}

// afterLostRace runs when a conditional write found that another writer had
// created the object meanwhile. S3 may date that object from before the
// start of the current Put (a multipart upload's LastModified is its initiation time), so
// refresh it to keep the ModTime promise.
func (b *Backend) afterLostRace(ctx context.Context, d content.Digest, key string, size int64) error {
	if _, err := b.touch(ctx, key, size); err != nil {
		return b.fail("put: refresh modification time of", d, key, err)
	}
	return nil
}

// putMultipart streams the blob as a multipart upload and completes it only
// once every part is stored and the whole stream verified; on any failure the
// upload is aborted.
func (b *Backend) putMultipart(ctx context.Context, key string, d content.Digest, size int64, vr *content.VerifyingReader, conditional bool) (bool, error) {
	partSize := b.partSizeFor(size)
	cr, err := b.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b.bucket, Key: &key})
	if err != nil {
		return false, b.fail("put: start multipart upload of", d, key, err)
	}
	uploadID := aws.ToString(cr.UploadId)
	parts, err := b.sendParts(ctx, key, uploadID, size, partSize, vr)
	if err != nil {
		return false, b.abort(ctx, d, key, uploadID, b.errf("put", d, "%w", err))
	}
	created, err := b.complete(ctx, d, key, uploadID, size, parts, conditional)
	switch {
	case err != nil:
		return false, b.abort(ctx, d, key, uploadID, err)
	case !created:
		// Another writer's object won; this upload stays open until
		// aborted, its parts billed. The blob is stored either way, so a
		// failed abort does not fail the Put: a bucket lifecycle rule for
		// incomplete uploads removes what is left.
		_ = b.abort(ctx, d, key, uploadID, errLostRace)
	}
	return created, nil
}

// errLostRace is the cause given to abort for the upload of a blob that
// another writer stored first.
var errLostRace = errors.New("another writer stored the blob first")

// partSizeFor returns the configured part size, raised when a blob of size
// bytes would otherwise need more than MaxParts parts.
func (b *Backend) partSizeFor(size int64) int64 {
	if (size+b.partSize-1)/b.partSize > MaxParts {
		return (size + MaxParts - 1) / MaxParts
	}
	return b.partSize
}

// sendParts reads the stream part by part into at most b.concurrency
// buffers, uploads the parts concurrently, and checks that the stream ends
// with the declared size and digest. It returns the completed parts, or the
// first error (a mismatch, a read error, a failed part or the context's).
func (b *Backend) sendParts(ctx context.Context, key, uploadID string, size, partSize int64, vr *content.VerifyingReader) ([]types.CompletedPart, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	nparts := int((size + partSize - 1) / partSize)
	parts := make([]types.CompletedPart, nparts)
	free := make(chan []byte, b.concurrency) // buffers of finished parts
	allocated := 0
	var wg sync.WaitGroup
	var readErr error
	for i := range nparts {
		var buf []byte
		select {
		case buf = <-free:
		default:
			if allocated < b.concurrency {
				buf = make([]byte, min(partSize, size))
				allocated++
				break
			}
			select {
			case buf = <-free:
			case <-ctx.Done():
			}
		}
		if buf == nil {
			break // a part failed or the caller gave up; the cause is in ctx
		}
		n := min(partSize, size-int64(i)*partSize)
		if _, err := io.ReadFull(vr, buf[:n]); err != nil {
			readErr = err
			break
		}
		num := int32(i + 1)
		wg.Go(func() {
			defer func() { free <- buf }()
			out, err := b.client.UploadPart(ctx, &s3.UploadPartInput{
				Bucket:        &b.bucket,
				Key:           &key,
				UploadId:      &uploadID,
				PartNumber:    aws.Int32(num),
				Body:          bytes.NewReader(buf[:n]),
				ContentLength: aws.Int64(n),
			})
			if err != nil {
				cancel(fmt.Errorf("upload part %d of %d: %w", num, nparts, mapError(err)))
				return
			}
			parts[num-1] = types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)}
		})
	}
	if readErr == nil && ctx.Err() == nil {
		readErr = expectEOF(vr)
	}
	if readErr != nil {
		cancel(readErr)
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return parts, nil
}

// complete finishes a multipart upload whose parts are all stored.
func (b *Backend) complete(ctx context.Context, d content.Digest, key, uploadID string, size int64, parts []types.CompletedPart, conditional bool) (bool, error) {
	return b.conditionalWrite(ctx, "put: complete multipart upload of", d, key, size, conditional, &b.noConditionalComplete, func(ifNoneMatch bool) error {
		in := &s3.CompleteMultipartUploadInput{
			Bucket:          &b.bucket,
			Key:             &key,
			UploadId:        &uploadID,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
		}
		if ifNoneMatch {
			in.IfNoneMatch = aws.String("*")
		}
		// The response's ETag is never used: Ceph RGW 16.2 sends an empty
		// one and gofakes3 one that differs from HeadObject's.
		_, err := b.client.CompleteMultipartUpload(ctx, in)
		if apiCode(err) == "NoSuchUpload" {
			// A retried Complete whose first attempt succeeded but whose
			// response was lost: the upload is gone because the object exists.
			if h, herr := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.bucket, Key: &key}); herr == nil && aws.ToInt64(h.ContentLength) == size {
				return nil
			}
		}
		return err
	})
}

// abort aborts a multipart upload after cause made it fail, even when ctx is
// already cancelled, and returns cause (joined with the abort's own error,
// if any, so the user knows parts may linger).
func (b *Backend) abort(ctx context.Context, d content.Digest, key, uploadID string, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	_, err := b.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &b.bucket, Key: &key, UploadId: &uploadID})
	if err != nil && apiCode(err) != "NoSuchUpload" {
		return fmt.Errorf("%w (and aborting multipart upload %s failed, so its parts may remain until a bucket lifecycle rule removes them: %v)",
			cause, uploadID, mapError(err))
	}
	return cause
}

// expectEOF checks that a reader that has yielded the declared size is at
// its end (for a VerifyingReader, a verified end): it returns nil at a
// clean EOF and an error matching storage.ErrDigestMismatch for a longer
// stream, or the reader's error (a *content.MismatchError for a wrong
// digest).
func expectEOF(vr io.Reader) error {
	var one [1]byte
	for range 100 {
		n, err := vr.Read(one[:])
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		case n > 0: // a VerifyingReader fails past the size itself
			return fmt.Errorf("%w: the stream is longer than its declared size", storage.ErrDigestMismatch)
		}
	}
	return io.ErrNoProgress
}

// ctxReader stops reading once the context is done, so a slow or endless
// source cannot keep a cancelled Put alive.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
