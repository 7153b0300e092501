package client

import (
	"bytes"
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

// TestContextReaderBuffer: a read asked for megabytes (the push ring's
// free span) reads at most maxContextRead bytes, so the reader's own
// buffer never grows to a second ring.
func TestContextReaderBuffer(t *testing.T) {
	src := bytes.Repeat([]byte{7}, 3*maxContextRead)
	r := newContextReader(t.Context(), bytes.NewReader(src))
	p := make([]byte, 8<<20)
	var got []byte
	for {
		n, err := r.Read(p)
		if n > maxContextRead {
			t.Fatalf("one read returned %d bytes; want at most %d", n, maxContextRead)
		}
		got = append(got, p[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, src) || cap(r.buf) > maxContextRead {
		t.Errorf("read %d of %d bytes, buffer of %d bytes", len(got), len(src), cap(r.buf))
	}
}
