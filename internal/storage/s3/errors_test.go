package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/artifact-store/artstore/internal/storage"
)

// sdkError builds an error shaped like the SDK's for an HTTP response with
// status and (when not nil) the API error decoded from its body.
func sdkError(op string, status int, apiErr error) error {
	return &smithy.OperationError{ServiceID: "S3", OperationName: op, Err: &awshttp.ResponseError{
		RequestID: "tx-1",
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      apiErr,
		},
	}}
}

func api(code string) error { return &smithy.GenericAPIError{Code: code, Message: "message"} }

func TestMapError(t *testing.T) {
	refused := &smithy.OperationError{ServiceID: "S3", OperationName: "HeadObject",
		Err: &smithyhttp.RequestSendError{Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}}
	reset := &smithy.OperationError{ServiceID: "S3", OperationName: "GetObject",
		Err: &smithyhttp.RequestSendError{Err: io.ErrUnexpectedEOF}}
	tests := []struct {
		name string
		err  error
		want error // sentinel the result must match; nil: none of them
	}{
		{"NoSuchKey", sdkError("GetObject", 404, &types.NoSuchKey{}), storage.ErrNotFound},
		{"HeadObject 404", sdkError("HeadObject", 404, &types.NotFound{}), storage.ErrNotFound},
		{"bare 404", sdkError("HeadObject", 404, api("")), storage.ErrNotFound},
		{"NoSuchBucket", sdkError("GetObject", 404, api("NoSuchBucket")), storage.ErrUnavailable},
		// A write that creates the key, or a listing, cannot miss a key:
		// its 404 is the bucket's, even when the body naming NoSuchBucket
		// went unread.
		{"PutObject bare 404", sdkError("PutObject", 404, api("")), storage.ErrUnavailable},
		{"PutObject 404, body unreadable", sdkError("PutObject", 404, &smithy.DeserializationError{Err: errors.New("failed to copy error response body: use of closed network connection")}), storage.ErrUnavailable},
		{"CreateMultipartUpload bare 404", sdkError("CreateMultipartUpload", 404, api("")), storage.ErrUnavailable},
		{"ListObjectsV2 bare 404", sdkError("ListObjectsV2", 404, api("")), storage.ErrUnavailable},
		{"NoSuchUpload", sdkError("UploadPart", 404, api("NoSuchUpload")), nil},
		{"InvalidRange", sdkError("GetObject", 416, api("InvalidRange")), storage.ErrInvalidRange},
		{"416 without code", sdkError("GetObject", 416, api("")), storage.ErrInvalidRange},
		{"AccessDenied", sdkError("PutObject", 403, api("AccessDenied")), storage.ErrUnavailable},
		{"bare 403", sdkError("HeadBucket", 403, api("")), storage.ErrUnavailable},
		{"InvalidAccessKeyId", sdkError("PutObject", 403, api("InvalidAccessKeyId")), storage.ErrUnavailable},
		{"SignatureDoesNotMatch", sdkError("PutObject", 403, api("SignatureDoesNotMatch")), storage.ErrUnavailable},
		{"RequestTimeTooSkewed", sdkError("PutObject", 403, api("RequestTimeTooSkewed")), storage.ErrUnavailable},
		{"PermanentRedirect", sdkError("GetObject", 301, api("PermanentRedirect")), storage.ErrUnavailable},
		{"SlowDown", sdkError("PutObject", 503, api("SlowDown")), storage.ErrUnavailable},
		{"InternalError", sdkError("PutObject", 500, api("InternalError")), storage.ErrUnavailable},
		{"502 from a proxy", sdkError("GetObject", 502, api("")), storage.ErrUnavailable},
		{"429", sdkError("GetObject", 429, api("")), storage.ErrUnavailable},
		{"RGW QuotaExceeded", sdkError("PutObject", 403, api("QuotaExceeded")), storage.ErrUnavailable},
		{"NotImplemented", sdkError("PutObject", 501, api("NotImplemented")), nil},
		{"PreconditionFailed", sdkError("PutObject", 412, api("PreconditionFailed")), nil},
		{"InvalidRequest", sdkError("CopyObject", 400, api("InvalidRequest")), nil},
		{"connection refused", refused, storage.ErrUnavailable},
		{"connection reset", reset, storage.ErrUnavailable},
		{"timeout", &net.DNSError{Err: "timeout", IsTimeout: true}, storage.ErrUnavailable},
	}
	sentinels := []error{storage.ErrNotFound, storage.ErrInvalidRange, storage.ErrUnavailable}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mapError(tt.err)
			if !errors.Is(got, tt.err) && got != tt.err {
				t.Errorf("mapError lost the original error: %v", got)
			}
			for _, s := range sentinels {
				if errors.Is(got, s) != (s == tt.want) {
					t.Errorf("mapError(%v) matches %v: %v; want %v", tt.err, s, errors.Is(got, s), s == tt.want)
				}
			}
			if again := mapError(got); again != got {
				t.Errorf("mapError is not idempotent: %v became %v", got, again)
			}
		})
	}
}

func TestMapErrorContext(t *testing.T) {
	for _, ctxErr := range []error{context.Canceled, context.DeadlineExceeded} {
		err := &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: &smithyhttp.RequestSendError{Err: fmt.Errorf("send: %w", ctxErr)}}
		got := mapError(err)
		if !errors.Is(got, ctxErr) || errors.Is(got, storage.ErrUnavailable) {
			t.Errorf("mapError(%v) = %v; want the context error, not ErrUnavailable", err, got)
		}
	}
	if mapError(nil) != nil {
		t.Error("mapError(nil) != nil")
	}
}

func TestConditionalErrors(t *testing.T) {
	tests := []struct {
		err              error
		precondition, ni bool
	}{
		{sdkError("PutObject", 412, api("PreconditionFailed")), true, false},
		{sdkError("PutObject", 412, api("")), true, false},
		{sdkError("PutObject", 501, api("NotImplemented")), false, true},
		{sdkError("PutObject", 400, api("NotImplemented")), false, true},
		{sdkError("PutObject", 403, api("AccessDenied")), false, false},
		{errors.New("other"), false, false},
	}
	for _, tt := range tests {
		if got := isPreconditionFailed(tt.err); got != tt.precondition {
			t.Errorf("isPreconditionFailed(%v) = %v", tt.err, got)
		}
		if got := isNotImplemented(tt.err); got != tt.ni {
			t.Errorf("isNotImplemented(%v) = %v", tt.err, got)
		}
	}
}
