package server

import (
	"fmt"
	"io"
	"net/http"
	rtmetrics "runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/memtest"
)

// repeatReader yields s n times.
type repeatReader struct {
	s   string
	n   int
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	k := 0
	for k < len(p) && r.n > 0 {
		c := copy(p[k:], r.s[r.off:])
		k += c
		r.off += c
		if r.off == len(r.s) {
			r.off = 0
			r.n--
		}
	}
	if k == 0 {
		return 0, io.EOF
	}
	return k, nil
}

// heapObjects reads the bytes of heap objects, live or not yet swept,
// without stopping the world.
func heapObjects() int64 {
	s := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	rtmetrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// TestRegisterBodiesMemory: six concurrent register bodies of 60 MiB, an
// older client's list of every blob, from a write token, grow the heap
// by far less than the 256 MiB the daemon must stay under; before, each
// was decoded whole in memory (six took the daemon to 819 MB). Each
// register still succeeds.
func TestRegisterBodiesMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 360 MiB")
	}
	e := newEnv(t)
	ts, _ := e.logged(Limits{})
	data := []byte("abc")
	d := e.putBlob(data)
	m := content.Manifest{Kind: content.KindFile, Size: 3, Digest: d, Chunker: content.DefaultChunkerParams(),
		Chunks: []content.ChunkRef{{Digest: d, Size: 3}}}
	mb, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	md := e.putBlob(mb)
	head := fmt.Sprintf(`{"name":"m/big","content_digest":%q,"manifest_digest":%q,"size":3,"producer":{},"blobs":[`, d, md)
	entry := fmt.Sprintf("%q,", d)
	const bodySize = 60 << 20
	n := (bodySize - len(head)) / len(entry)
	body := func() io.Reader {
		return io.MultiReader(strings.NewReader(head), &repeatReader{s: entry, n: n}, strings.NewReader(fmt.Sprintf("%q]}", d)))
	}

	base := memtest.LiveHeap()
	var peak int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, heapObjects())
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	var wg sync.WaitGroup
	statuses := make(chan int, 6)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", ts.URL+"/v1/artifacts", body())
			req.Header.Set("Authorization", "Bearer "+e.tok["write"])
			req.Header.Set("Content-Type", "application/json")
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode >= 300 && resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("register: %d %s", resp.StatusCode, b)
			}
			statuses <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	close(statuses)
	created := 0
	for st := range statuses {
		if st == http.StatusCreated {
			created++
		}
	}
	growth := peak - base
	t.Logf("6 concurrent 60 MiB registers: %d created, peak heap growth %.1f MiB", created, float64(growth)/(1<<20))
	if growth > 96<<20 {
		t.Errorf("peak heap grew by %.1f MiB, want well under 256 MiB (at most 96)", float64(growth)/(1<<20))
	}
	if created == 0 {
		t.Error("no register succeeded")
	}
}
