package client

import (
	"errors"
	"net/url"
	"testing"
)

// TestUnavailableReasonIdleClose: a keep-alive connection the daemon
// closed as it went away reads "connection closed", never Go's rendering
// of the request (it made remote_retry.txtar fail now and then).
func TestUnavailableReasonIdleClose(t *testing.T) {
	err := &url.Error{Op: "Get", URL: "http://127.0.0.1:1/v1/artifacts?limit=1", Err: errors.New("http: server closed idle connection")}
	if got := unavailableReason(err); got != "connection closed" {
		t.Fatalf("unavailableReason = %q, want %q", got, "connection closed")
	}
	other := &url.Error{Op: "Get", URL: "http://127.0.0.1:1/x", Err: errors.New("tls: handshake failure")}
	if got := unavailableReason(other); got != "tls: handshake failure" {
		t.Fatalf("unavailableReason = %q, want the cause without the request", got)
	}
}
