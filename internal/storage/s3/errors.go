package s3

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/artifact-store/artstore/internal/storage"
)

// mapError maps an SDK error to the storage sentinels callers branch on,
// keeping the original error (and its message) in the chain:
//
//   - NoSuchKey, or a bare 404 (HeadObject has no body): storage.ErrNotFound
//   - a 404 answering a request that creates its key or names no key
//     (PutObject, CreateMultipartUpload, ListObjectsV2):
//     storage.ErrUnavailable, since only the bucket can be missing, even
//     when the body naming NoSuchBucket went unread
//   - InvalidRange or 416: storage.ErrInvalidRange
//   - XAmzContentSHA256Mismatch, BadDigest (a body that does not have the
//     SHA-256 the request signed): storage.ErrDigestMismatch
//   - a missing bucket, refused credentials, throttling, 5xx, timeouts and
//     transport failures (the request could not be sent or its response
//     not received): storage.ErrUnavailable
//
// A cancelled or expired context is returned unchanged (errors.Is still
// finds context.Canceled), as is an error that already matches one of the
// sentinels (mapError is idempotent); anything else is returned as it is.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	// Already mapped (mapError is idempotent).
	for _, sentinel := range []error{storage.ErrNotFound, storage.ErrInvalidRange, storage.ErrUnavailable, storage.ErrDigestMismatch} {
		if errors.Is(err, sentinel) {
			return err
		}
	}
	code, st := apiCode(err), status(err)
	var ne net.Error
	var se *smithyhttp.RequestSendError
	switch {
	case st == http.StatusNotFound && bucketOnly404(err):
		return fmt.Errorf("%w: the bucket is missing: %w", storage.ErrUnavailable, err)
	case code == "NoSuchKey" || code == "NotFound" || (st == http.StatusNotFound && code == ""):
		return fmt.Errorf("%w: %w", storage.ErrNotFound, err)
	case code == "InvalidRange" || st == http.StatusRequestedRangeNotSatisfiable:
		return fmt.Errorf("%w: %w", storage.ErrInvalidRange, err)
	case code == "XAmzContentSHA256Mismatch" || code == "BadDigest":
		return fmt.Errorf("%w: the server found that the body does not have the signed SHA-256: %w", storage.ErrDigestMismatch, err)
	case unavailableCode(code),
		st == http.StatusUnauthorized, st == http.StatusForbidden,
		st == http.StatusMovedPermanently, st == http.StatusTooManyRequests,
		st >= 500 && st != http.StatusNotImplemented,
		errors.As(err, &ne), errors.As(err, &se):
		return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
	}
	return err
}

// bucketOnly404 reports whether err answers a request that creates its
// key or names none, so that a 404 can only mean a missing bucket.
func bucketOnly404(err error) bool {
	var oe *smithy.OperationError
	if !errors.As(err, &oe) {
		return false
	}
	switch oe.Operation() {
	case "PutObject", "CreateMultipartUpload", "ListObjectsV2":
		return true
	}
	return false
}

// apiCode returns the S3 error code ("NoSuchKey", ...) of err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// status returns the HTTP status code of the response err came from, or 0.
func status(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// isPreconditionFailed reports a failed "If-None-Match: *": the object exists.
func isPreconditionFailed(err error) bool {
	return apiCode(err) == "PreconditionFailed" || status(err) == http.StatusPreconditionFailed
}

// isNotImplemented reports a server that does not implement a header or
// operation (501, or the NotImplemented code some servers send with 400).
func isNotImplemented(err error) bool {
	return apiCode(err) == "NotImplemented" || status(err) == http.StatusNotImplemented
}

// unavailableCode reports S3 error codes that say the backend, not the blob,
// is the problem: the bucket is gone, the credentials or region are wrong, or
// the server is overloaded. Sources: the S3 API reference's error code list,
// and what Ceph RGW and gofakes3 send.
func unavailableCode(code string) bool {
	switch code {
	case "NoSuchBucket", "AccessDenied", "AllAccessDisabled", "AccountProblem",
		"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
		"TokenRefreshRequired", "AuthorizationHeaderMalformed", "RequestTimeTooSkewed",
		"PermanentRedirect", "InvalidBucketName",
		"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout",
		"QuotaExceeded": // Ceph RGW: user or bucket quota
		return true
	}
	return false
}
