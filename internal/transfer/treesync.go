package transfer

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// treeSyncWorkers is how many fsyncs a tree pull keeps in flight. On ext4
// an fsync of a new file waits for a journal commit, and fsyncs issued
// while a commit runs share the next one: many at once cost a few commits,
// not one each. 4, 8, 16, 32 and 64 were compared (docs/benchmarks.md); the
// load of the shared machine varied the results more than the count did.
const treeSyncWorkers = 16

// fileSyncer makes a tree pull's files and directories durable: each file
// handed to it is fsynced, then closed, by one of a pool of workers. wait
// returns once every file handed over so far is done, with the first
// error.
type fileSyncer struct {
	sync    func(outFile) error
	workers int

	q       chan outFile
	pending sync.WaitGroup // files handed over and not done
	running sync.WaitGroup // workers
	mu      sync.Mutex
	err     error
}

func newFileSyncer(workers int, syncFn func(outFile) error) *fileSyncer {
	if syncFn == nil {
		syncFn = outFile.Sync
	}
	return &fileSyncer{sync: syncFn, workers: max(workers, 1)}
}

// add hands f over: it will be fsynced and closed.
func (s *fileSyncer) add(f outFile) {
	if s.q == nil {
		s.q = make(chan outFile, s.workers)
		s.running.Add(s.workers)
		for range s.workers {
			go s.work()
		}
	}
	s.pending.Add(1)
	s.q <- f
}

func (s *fileSyncer) work() {
	defer s.running.Done()
	for f := range s.q {
		err := s.sync(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			s.mu.Lock()
			if s.err == nil {
				s.err = fmt.Errorf("sync: %w", err)
			}
			s.mu.Unlock()
		}
		s.pending.Done()
	}
}

// wait waits until every file handed over is fsynced and closed, and
// returns the first error any of them met (again on later calls).
func (s *fileSyncer) wait() error {
	s.pending.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// stop waits for the files handed over and ends the workers.
func (s *fileSyncer) stop() {
	if s.q != nil {
		close(s.q)
		s.running.Wait()
		s.q = nil
	}
}

// dirSet is the directories (slash paths, "." for the root) a tree pull
// changed: created, renamed into, or given a mode. Each is added with its
// parents, whose entries name it.
type dirSet map[string]struct{}

// add adds the directory p and its parents.
func (ds dirSet) add(p string) {
	for {
		if _, ok := ds[p]; ok {
			return
		}
		ds[p] = struct{}{}
		if p == "." {
			return
		}
		p = path.Dir(p)
	}
}

// syncDirs fsyncs every directory of ds, through s.
func syncDirs(root *os.Root, ds dirSet, s *fileSyncer) error {
	var errs []error
	for p := range ds {
		f, err := root.Open(filepath.FromSlash(p))
		if err != nil {
			errs = append(errs, fmt.Errorf("open %s to sync it: %w", p, err))
			continue
		}
		s.add(f)
	}
	if err := s.wait(); err != nil {
		errs = append(errs, fmt.Errorf("directories: %w", err))
	}
	return errors.Join(errs...)
}

// A sync of a batch by syncfs(2) costs the writing of everything dirty on
// the filesystem, others' data too; by an fsync of each file, about a
// journal commit's share per file. On a 2-core ext4 VM, 200 MB of others'
// dirty data added about as much to a 10,000-file pull's syncfs as fsyncing
// each of its files did (about 0.5 s; docs/benchmarks.md, "Trees"), some
// 20 KB per file. syncfsBytesPerFile is the others' dirty data, per file
// of the batch, below which one syncfs is chosen, set above that break-even
// so that the quiet case keeps the syncfs; syncfsSlack is the dirty data an
// idle machine always has (logs, atime updates).
const (
	syncfsBytesPerFile = 32 << 10
	syncfsSlack        = 2 << 20
)

// syncPlan chooses how a tree pull makes a batch durable.
type syncPlan struct {
	// dirty returns the bytes waiting to be written to disk on the
	// machine (dirty or under writeback), and whether it knows.
	dirty func() (int64, bool)
}

// syncfs reports whether one syncfs is the cheaper way to make files
// files holding own bytes (written, perhaps not yet on disk) durable: when
// the dirty data beyond own would cost less to write than the files'
// fsyncs. Either way is as durable; when the dirty bytes are unknown,
// each file is fsynced.
func (p syncPlan) syncfs(files int, own int64) bool {
	d, ok := p.dirty()
	if !ok || !haveSyncfs {
		return false
	}
	return d-own <= int64(files)*syncfsBytesPerFile+syncfsSlack
}

// parseMeminfo returns the sum of the Dirty and Writeback lines of
// /proc/meminfo's text b, in bytes, and whether both were found.
func parseMeminfo(b []byte) (int64, bool) {
	var sum int64
	seen := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || (name != "Dirty" && name != "Writeback") || seen[name] {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, false
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 || kb > math.MaxInt64>>10 {
			return 0, false
		}
		sum += kb << 10
		if sum < 0 {
			return 0, false
		}
		seen[name] = true
	}
	if len(seen) != 2 {
		return 0, false
	}
	return sum, true
}
