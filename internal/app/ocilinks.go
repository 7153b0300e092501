package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
)

// OCIBlob is a blob an OCI repository holds: its size and how its bytes
// are stored: a file manifest over chunks, as artstore push stores a file,
// or (InStream) a section of a stream-layout tree's stream, where a file
// of a directory artifact lives (Manifest is then the tree's manifest and
// Offset where the file starts).
type OCIBlob struct {
	Size     int64
	Content  content.Digest
	Manifest content.Digest
	InStream bool
	Offset   int64
}

// ociIndex is which blobs each OCI repository holds, folded from the
// oci.blob.linked.v1 and oci.blob.unlinked.v1 events of the log (see
// docs/oci.md), as auth.Book folds tokens: every daemon on a shared log
// reads the others' links. A lookup that misses re-reads the log (at most
// every ociIndexMinRefresh), so a blob linked by another daemon is found.
type ociIndex struct {
	log eventlog.Store

	refreshMu sync.Mutex // serialises refreshes
	mu        sync.RWMutex
	repos     map[string]map[string]OCIBlob // repository -> OCI digest -> blob
	// anywhere counts, per digest, the repositories that link it, and
	// keeps one of its blobs: what an anonymous mount links.
	anywhere  map[string]ociAnywhere
	seq       int64
	refreshed time.Time
}

type ociAnywhere struct {
	blob  OCIBlob
	repos int
}

// ociIndexMinRefresh is the least time between two re-reads of the log
// caused by lookups that miss.
const ociIndexMinRefresh = 100 * time.Millisecond

func newOCIIndex(log eventlog.Store) *ociIndex {
	return &ociIndex{log: log, repos: map[string]map[string]OCIBlob{}, anywhere: map[string]ociAnywhere{}}
}

// refresh folds the events appended since the last refresh, unless the
// last one is younger than maxAge.
func (x *ociIndex) refresh(ctx context.Context, maxAge time.Duration) error {
	x.refreshMu.Lock()
	defer x.refreshMu.Unlock()
	x.mu.RLock()
	after, last := x.seq, x.refreshed
	x.mu.RUnlock()
	if maxAge > 0 && !last.IsZero() && time.Since(last) < maxAge {
		return nil
	}
	var evs []eventlog.Event
	seq := after
	err := x.log.Read(ctx, after, func(ev eventlog.Event) error {
		seq = ev.Seq
		if ev.Type == eventlog.TypeOCIBlobLinked || ev.Type == eventlog.TypeOCIBlobUnlinked {
			evs = append(evs, ev)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read OCI blob links from the event log: %w", err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, ev := range evs {
		if err := x.fold(ev); err != nil {
			return err
		}
	}
	x.seq = seq
	x.refreshed = time.Now()
	return nil
}

func (x *ociIndex) fold(ev eventlog.Event) error {
	p, err := eventlog.DefaultTypes().Decode(ev.Type, ev.Payload)
	if err != nil {
		return fmt.Errorf("event %d: %w", ev.Seq, err)
	}
	switch p := p.(type) {
	case *eventlog.OCIBlobLinked:
		m := x.repos[p.Repository]
		if m == nil {
			m = map[string]OCIBlob{}
			x.repos[p.Repository] = m
		}
		b := OCIBlob{Size: p.Size, Content: p.Content, Manifest: p.Manifest}
		a := x.anywhere[p.Digest]
		if _, had := m[p.Digest]; !had {
			a.repos++
		}
		a.blob = b
		x.anywhere[p.Digest] = a
		m[p.Digest] = b
	case *eventlog.OCIBlobUnlinked:
		m := x.repos[p.Repository]
		if _, had := m[p.Digest]; !had {
			return nil
		}
		delete(m, p.Digest)
		if len(m) == 0 {
			delete(x.repos, p.Repository)
		}
		if a := x.anywhere[p.Digest]; a.repos <= 1 {
			delete(x.anywhere, p.Digest)
		} else {
			a.repos--
			x.anywhere[p.Digest] = a
		}
	}
	return nil
}

func (x *ociIndex) get(repo, digest string) (OCIBlob, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	b, ok := x.repos[repo][digest]
	return b, ok
}

// Lookup returns the blob digest of repository repo, re-reading the log
// once when it is not known yet.
func (x *ociIndex) Lookup(ctx context.Context, repo, digest string) (OCIBlob, bool, error) {
	if b, ok := x.get(repo, digest); ok {
		return b, true, nil
	}
	if err := x.refresh(ctx, ociIndexMinRefresh); err != nil {
		return OCIBlob{}, false, err
	}
	b, ok := x.get(repo, digest)
	return b, ok, nil
}

// Anywhere returns a blob with the digest linked in any repository.
func (x *ociIndex) Anywhere(ctx context.Context, digest string) (OCIBlob, bool, error) {
	look := func() (OCIBlob, bool) {
		x.mu.RLock()
		defer x.mu.RUnlock()
		a, ok := x.anywhere[digest]
		return a.blob, ok
	}
	if b, ok := look(); ok {
		return b, true, nil
	}
	if err := x.refresh(ctx, ociIndexMinRefresh); err != nil {
		return OCIBlob{}, false, err
	}
	b, ok := look()
	return b, ok, nil
}

// Link records that repo holds the blob, with actor as the event's actor,
// and folds the event before it returns.
func (x *ociIndex) Link(ctx context.Context, actor, repo, digest string, b OCIBlob) error {
	return x.append(ctx, actor, repo, &eventlog.OCIBlobLinked{Repository: repo, Digest: digest, Size: b.Size, Content: b.Content, Manifest: b.Manifest})
}

// Unlink records that repo stops holding the blob.
func (x *ociIndex) Unlink(ctx context.Context, actor, repo, digest string) error {
	return x.append(ctx, actor, repo, &eventlog.OCIBlobUnlinked{Repository: repo, Digest: digest})
}

func (x *ociIndex) append(ctx context.Context, actor, repo string, p eventlog.Payload) error {
	ne, err := eventlog.New(actor, "oci:"+repo, p)
	if err != nil {
		return err
	}
	if _, err := x.log.Append(ctx, []eventlog.NewEvent{ne}); err != nil {
		return fmt.Errorf("record %s: %w", p.EventType(), err)
	}
	return x.refresh(ctx, 0)
}
