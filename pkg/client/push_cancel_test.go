package client

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

// TestPushBlockedReaderCancel: a push whose reader blocks (standard input
// that never gets data) returns promptly once its context is cancelled
// (SIGINT), with and without media type detection, instead of waiting for
// input that never comes.
func TestPushBlockedReaderCancel(t *testing.T) {
	l, _ := newStore(t)
	for _, mt := range []string{"", "text/plain"} {
		pr, pw := io.Pipe()
		defer pw.Close()
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		done := make(chan error, 1)
		go func() {
			_, err := l.Push(ctx, PushRequest{Reader: pr, Name: "logs/stdin", MediaType: mt})
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("media type %q: cancelled push = %v, want context.Canceled", mt, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("media type %q: the push did not return 5 s after its context was cancelled", mt)
		}
	}
}

// TestContextReader: reads pass through; a cancelled context ends a
// blocked read and every later one.
func TestContextReader(t *testing.T) {
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	r := newContextReader(ctx, pr)
	go func() { _, _ = pw.Write([]byte("hello")) }()
	buf := make([]byte, 16)
	if n, err := r.Read(buf); err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := r.Read(buf); !errors.Is(err, context.Canceled) {
		t.Errorf("blocked Read after cancel = %v", err)
	}
	if _, err := r.Read(buf); !errors.Is(err, context.Canceled) {
		t.Errorf("Read after cancel = %v", err)
	}
	pw.Close()
}
