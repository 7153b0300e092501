package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
)

var _ storage.Presigner = (*Backend)(nil)

// probeTimeout bounds each request of CheckPresign.
const probeTimeout = 30 * time.Second

// PresignGet returns a GET of blob d valid for ttl (storage.Presigner).
// The payload of a GET is empty, so the signature covers only the method,
// key and headers; a client adds its Range header unsigned.
func (b *Backend) PresignGet(ctx context.Context, d content.Digest, ttl time.Duration) (storage.SignedRequest, error) {
	key, err := b.key("presign get", d)
	if err != nil {
		return storage.SignedRequest{}, err
	}
	return b.presignGetKey(ctx, key, ttl)
}

func (b *Backend) presignGetKey(ctx context.Context, key string, ttl time.Duration) (storage.SignedRequest, error) {
	pc := s3.NewPresignClient(b.client, func(o *s3.PresignOptions) {
		o.Expires = ttl
		o.Presigner = payloadPresigner{signer: newSigner()}
	})
	start := time.Now()
	out, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: &key})
	if err != nil {
		return storage.SignedRequest{}, fmt.Errorf("s3 backend %q: presign GET of s3://%s/%s: %w", b.id, b.bucket, key, mapError(err))
	}
	return signed(out.Method, out.URL, out.SignedHeader, start.Add(ttl)), nil
}

// PresignPut returns a PUT that stores exactly the size bytes hashing to d
// (storage.Presigner). The signature covers the payload's SHA-256
// (x-amz-content-sha256, which is d's hex digest) and the content length;
// Ceph RGW and AWS S3 check the body against that header and answer 400
// XAmzContentSHA256Mismatch otherwise, and a client that leaves the
// header out or changes it breaks the signature (403). The request also
// carries x-amz-checksum-sha256 (d in base64), signed: AWS S3 checks it
// too and keeps it with the object; Ceph RGW 16.2 does not implement it
// and ignores it.
func (b *Backend) PresignPut(ctx context.Context, d content.Digest, size int64, ttl time.Duration) (storage.SignedRequest, error) {
	key, err := b.key("presign put", d)
	if err != nil {
		return storage.SignedRequest{}, err
	}
	if size < 0 {
		return storage.SignedRequest{}, b.errf("presign put", d, "size %d is negative", size)
	}
	if size > MaxSinglePut {
		return storage.SignedRequest{}, b.errf("presign put", d, "size %d is over the %d bytes one PUT may store", size, int64(MaxSinglePut))
	}
	return b.presignPutKey(ctx, key, d, size, ttl)
}

func (b *Backend) presignPutKey(ctx context.Context, key string, d content.Digest, size int64, ttl time.Duration) (storage.SignedRequest, error) {
	sum, err := hex.DecodeString(d.Hex())
	if err != nil || len(sum) != 32 {
		return storage.SignedRequest{}, fmt.Errorf("s3 backend %q: presign put %s: %w: not a SHA-256 digest", b.id, d, storage.ErrInvalidKey)
	}
	pc := s3.NewPresignClient(b.client, func(o *s3.PresignOptions) {
		o.Expires = ttl
		o.Presigner = payloadPresigner{signer: newSigner(), hash: d.Hex(), length: size}
	})
	start := time.Now()
	out, err := pc.PresignPutObject(ctx, &s3.PutObjectInput{
		Bucket:         &b.bucket,
		Key:            &key,
		ContentLength:  aws.Int64(size),
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum)),
	})
	if err != nil {
		return storage.SignedRequest{}, fmt.Errorf("s3 backend %q: presign PUT of s3://%s/%s: %w", b.id, b.bucket, key, mapError(err))
	}
	return signed(out.Method, out.URL, out.SignedHeader, start.Add(ttl)), nil
}

// signed copies a presigned request, without its Host header (the URL
// names the host, and net/http sets it from there).
func signed(method, url string, h http.Header, expires time.Time) storage.SignedRequest {
	out := storage.SignedRequest{Method: method, URL: url, Header: http.Header{}, Expires: expires}
	for k, v := range h {
		if http.CanonicalHeaderKey(k) == "Host" {
			continue
		}
		out.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), v...)
	}
	return out
}

// newSigner is the SigV4 signer S3 needs: object keys are escaped once,
// not twice as other services want.
func newSigner() *v4.Signer {
	return v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
}

// payloadPresigner signs a presigned request with a payload hash of its
// own (the blob's SHA-256) instead of UNSIGNED-PAYLOAD, sends that hash as
// the x-amz-content-sha256 header, signs the content length, and keeps the
// x-amz-* headers as signed headers instead of moving them into the query
// (where Ceph RGW does not read x-amz-content-sha256). A client must then
// send those headers as they are, and the server checks the body against
// the hash. With hash empty (a GET) it signs as the SDK does, headers kept.
type payloadPresigner struct {
	signer *v4.Signer
	hash   string
	length int64
}

func (p payloadPresigner) PresignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string,
	t time.Time, optFns ...func(*v4.SignerOptions)) (string, http.Header, error) {
	if p.hash != "" {
		payloadHash = p.hash
		r.Header.Set("X-Amz-Content-Sha256", p.hash)
		r.ContentLength = p.length
	}
	optFns = append(optFns, func(o *v4.SignerOptions) { o.DisableHeaderHoisting = true })
	return p.signer.PresignHTTP(ctx, creds, r, payloadHash, service, region, t, optFns...)
}

// withPayloadHash makes an operation sign the payload hash given (the
// blob's SHA-256, which artstore knows) instead of hashing the body
// itself: no second hash pass, no seekable body needed, and the server
// still checks the body against it.
func withPayloadHash(hash string) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Finalize.Insert(middleware.FinalizeMiddlewareFunc("ArtstorePayloadHash",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					return next.HandleFinalize(v4.SetPayloadHash(ctx, hash), in)
				}), "ComputePayloadHash", middleware.Before)
		})
	}
}

// CheckPresign proves against the live server that presigned uploads
// store only the bytes they were signed for (storage.Presigner). It works
// on the object "<prefix>artstore-probe/<random>", outside the blob
// namespace (Walk never lists it), and deletes it.
func (b *Backend) CheckPresign(ctx context.Context) error {
	var rnd [16]byte
	_, _ = rand.Read(rnd[:])
	key := b.prefix + "artstore-probe/" + hex.EncodeToString(rnd[:8])
	good := []byte("artstore presign probe " + hex.EncodeToString(rnd[8:]))
	bad := append([]byte(nil), good...)
	bad[len(bad)-1] ^= 0x20
	d := content.FromBytes(good)
	fail := func(format string, a ...any) error {
		return fmt.Errorf("s3 backend %q: presigned upload check at %s: "+format, append([]any{b.id, b.endpoint}, a...)...)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), probeTimeout)
		defer cancel()
		_, _ = b.client.DeleteObject(dctx, &s3.DeleteObjectInput{Bucket: &b.bucket, Key: &key})
	}()
	put, err := b.presignPutKey(ctx, key, d, int64(len(good)), time.Minute)
	if err != nil {
		return fail("%w", err)
	}
	// Wrong bytes, with the signed headers; then with the hash header left
	// out; then with it set to the wrong bytes' hash (unsigned).
	for i, tamper := range []func(http.Header){
		func(http.Header) {},
		func(h http.Header) { h.Del("X-Amz-Content-Sha256") },
		func(h http.Header) { h.Set("X-Amz-Content-Sha256", content.FromBytes(bad).Hex()) },
	} {
		status, err := b.send(ctx, put, bad, tamper)
		if err != nil {
			return fail("%w", err)
		}
		if status < 300 {
			return fail("%w (probe %d: a body that does not match the signed SHA-256 was stored, status %d)", storage.ErrPresignUnenforced, i+1, status)
		}
	}
	if _, err := b.headObject(ctx, key); !errors.Is(err, storage.ErrNotFound) {
		return fail("%w (a refused upload left an object, or the check could not tell: %v)", storage.ErrPresignUnenforced, err)
	}
	if status, err := b.send(ctx, put, good, func(http.Header) {}); err != nil || status >= 300 {
		return fail("the server refused a correct presigned upload (status %d, %v)", status, err)
	}
	get, err := b.presignGetKey(ctx, key, time.Minute)
	if err != nil {
		return fail("%w", err)
	}
	got, status, err := b.fetch(ctx, get)
	if err != nil || status != http.StatusOK || !bytes.Equal(got, good) {
		return fail("a presigned GET did not return what the presigned PUT stored (status %d, %d bytes, %v)", status, len(got), err)
	}
	return nil
}

// httpClient is the client CheckPresign sends its requests with.
func (b *Backend) httpClient() *http.Client {
	if b.cfg.HTTPClient != nil {
		return b.cfg.HTTPClient
	}
	return &http.Client{Timeout: probeTimeout}
}

// send sends a presigned PUT with body, its headers changed by tamper, and
// returns the status.
func (b *Backend) send(ctx context.Context, sr storage.SignedRequest, body []byte, tamper func(http.Header)) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, sr.Method, sr.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header = sr.Header.Clone()
	tamper(req.Header)
	resp, err := b.httpClient().Do(req)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}

// fetch sends a presigned GET and returns the body (at most 1 MiB).
func (b *Backend) fetch(ctx context.Context, sr storage.SignedRequest) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, sr.Method, sr.URL, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header = sr.Header.Clone()
	resp, err := b.httpClient().Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return data, resp.StatusCode, err
}
