package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/artifact-store/artstore/pkg/client"
)

// TestRemoteGC: garbage collection through the daemon is for admin tokens,
// reports what it deleted, and races remote pushes safely (the remote push
// re-uploads blobs collected under it and registers again).
func TestRemoteGC(t *testing.T) {
	ctx := context.Background()
	d := startDaemon(t, nil)
	admin, write := d.open(t, "admin"), d.open(t, "write")
	dir := t.TempDir()

	p, _ := randomFile(t, dir, "a.bin", 5000, 1)
	a, err := write.Push(ctx, client.PushRequest{Path: p, Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := write.GC(ctx, client.GCOptions{DryRun: true}); !errors.Is(err, client.ErrForbidden) {
		t.Fatalf("gc with a write token: err = %v, want ErrForbidden", err)
	}
	if _, err := write.Delete(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	dry, err := admin.GC(ctx, client.GCOptions{DryRun: true})
	if err != nil || dry.Blobs != 2 || !dry.DryRun || dry.Backend != "default" {
		t.Fatalf("dry run = %+v, %v; want 2 blobs of backend default", dry, err)
	}
	rep, err := admin.GC(ctx, client.GCOptions{})
	if err != nil || rep.Blobs != 2 || rep.Bytes != dry.Bytes || len(rep.Events) != 1 {
		t.Fatalf("gc = %+v, %v; want the dry run's blobs in one event", rep, err)
	}
	evs, err := admin.Events(ctx, rep.Events[0]-1, 1, 0)
	if err != nil || len(evs) != 1 || evs[0].Type != "blobs.collected.v1" || evs[0].Actor != "admin-bot" {
		t.Fatalf("event = %+v, %v; want blobs.collected.v1 by admin-bot", evs, err)
	}

	// The race, through HTTP.
	iterations := 60
	if testing.Short() {
		iterations = 15
	}
	var files []string
	for i := range 3 {
		f, _ := randomFile(t, dir, fmt.Sprintf("f%d", i), 3000+1000*i, uint64(10+i))
		files = append(files, f)
	}
	for it := range iterations {
		src := files[it%len(files)]
		seed, err := write.Push(ctx, client.PushRequest{Path: src, Name: "race/dead"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := write.Delete(ctx, seed.ID); err != nil {
			t.Fatal(err)
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		var res *client.PushResult
		var pushErr, gcErr error
		wg.Go(func() {
			<-start
			res, pushErr = write.Push(ctx, client.PushRequest{Path: src, Name: "race/p"})
		})
		wg.Go(func() {
			<-start
			_, gcErr = admin.GC(ctx, client.GCOptions{})
		})
		close(start)
		wg.Wait()
		if gcErr != nil {
			t.Fatalf("iteration %d: gc: %v", it, gcErr)
		}
		if pushErr != nil {
			if !errors.Is(pushErr, client.ErrIntegrity) {
				t.Fatalf("iteration %d: push: %v", it, pushErr)
			}
			continue
		}
		if _, err := write.Pull(ctx, res.ID, io.Discard, client.PullOptions{}); err != nil {
			t.Fatalf("iteration %d: %s registered but does not pull: %v", it, res.Ref, err)
		}
		if _, err := write.Delete(ctx, res.ID); err != nil {
			t.Fatal(err)
		}
	}
}
