package transfer

import (
	"context"
	"testing"
	"time"
)

// TestCommitter: a commit is due after CommitEvery bytes, CommitBlobs
// blobs or CommitInterval, whichever comes first; interrupted commits
// even when the push's context is cancelled.
func TestCommitter(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    PushOptions
		sizes   []int64
		commits int32
	}{
		{"bytes", PushOptions{CommitEvery: 100, CommitBlobs: 1000, CommitInterval: time.Hour}, []int64{60, 60, 60, 60, 10}, 2},
		{"blobs", PushOptions{CommitEvery: 1 << 30, CommitBlobs: 3, CommitInterval: time.Hour}, []int64{1, 1, 1, 1, 1, 1, 1}, 2},
		{"interval", PushOptions{CommitEvery: 1 << 30, CommitBlobs: 1000, CommitInterval: time.Nanosecond}, []int64{1, 1, 1}, 3},
	} {
		cfg := testPushConfig(t, tc.opts)
		st := &recordingStage{s: newMemStore()}
		cm := &committer{sh: newSharedStage(st), cfg: cfg}
		for _, n := range tc.sizes {
			if tc.name == "interval" {
				time.Sleep(time.Millisecond)
			}
			if err := cm.staged(context.Background(), n); err != nil {
				t.Fatal(err)
			}
		}
		if got := st.commits.Load(); got != tc.commits {
			t.Errorf("%s: %d commits, want %d", tc.name, got, tc.commits)
		}
	}
	st := &recordingStage{s: newMemStore()}
	cm := &committer{sh: newSharedStage(st), cfg: testPushConfig(t, PushOptions{})}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cm.interrupted(ctx)
	if st.commits.Load() != 1 {
		t.Error("interrupted did not commit under a cancelled context")
	}
}

// TestNewCommitter: a store that stages gets a stage of its own, aborted
// by the returned func; a tree's file uses the shared stage and leaves it
// to PushTree; other stores get none.
func TestNewCommitter(t *testing.T) {
	if cm, abort := newCommitter(newMemStore(), testPushConfig(t, PushOptions{})); cm != nil || abort != nil {
		t.Error("a store that does not stage got a committer")
	}
	shared := newSharedStage(&recordingStage{s: newMemStore()})
	cfg := testPushConfig(t, PushOptions{})
	cfg.shared = shared
	if cm, abort := newCommitter(newMemStore(), cfg); cm == nil || cm.sh != shared || abort != nil {
		t.Error("a tree's file did not get the shared stage alone")
	}
	st := &recordingStage{s: newMemStore()}
	cm, abort := newCommitter(stagingMemStore{newMemStore(), st}, testPushConfig(t, PushOptions{}))
	if cm == nil || cm.sh.st != st || abort == nil {
		t.Fatal("a staging store did not get a stage of its own")
	}
	abort()
	if !st.aborted.Load() {
		t.Error("abort did not abort the stage")
	}
}

// stagingMemStore is a memStore whose newStage returns st.
type stagingMemStore struct {
	*memStore
	st blobStage
}

func (s stagingMemStore) newStage() blobStage { return s.st }
