package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/artifact-store/artstore/pkg/client"
)

// TestRemoteFilesBrokenListing: a listing the daemon breaks off (the
// connection aborted after some entries) fails with ErrUnavailable after
// the entries that arrived whole, and is not retried (which would hand
// fn the same entries twice); a complete one ends without error.
func TestRemoteFilesBrokenListing(t *testing.T) {
	var calls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Query().Get("ref") {
		case "whole":
			_, _ = w.Write([]byte(`[{"path":"a","type":"file","mode":"0644","size":1,"digest":"sha256:x"}` + "\n" + `,{"path":"b","type":"dir","mode":"0755","size":0}` + "\n]\n"))
		default:
			_, _ = w.Write([]byte(`[{"path":"a","type":"file","mode":"0644","size":1}` + "\n" + `,{"path":"b","ty`))
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
	}))
	defer ts.Close()
	r, err := client.OpenRemote(context.Background(), client.RemoteOptions{URL: ts.URL, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	fn := func(e client.TreeEntry) error { got = append(got, e.Path); return nil }
	if err := r.Files(context.Background(), "whole", fn); err != nil || len(got) != 2 || got[1] != "b" {
		t.Fatalf("a whole listing: %v, entries %v", err, got)
	}
	got = nil
	calls.Store(0)
	err = r.Files(context.Background(), "broken", fn)
	if !errors.Is(err, client.ErrUnavailable) || len(got) != 1 || calls.Load() != 1 {
		t.Fatalf("a broken listing: %v after entries %v and %d requests; want ErrUnavailable after [a], one request", err, got, calls.Load())
	}
}
