package transfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/artifact-store/artstore/internal/content"
)

// TreeCache is the client-side cache of stream-layout tree pushes (like
// restic's parent snapshot or borg's files cache): for each store and
// absolute source directory, one small file recording a fingerprint of
// the tree's metadata when it was last pushed and the manifest that push
// stored. A push of a tree whose fingerprint is unchanged, and whose
// manifest the store still holds, costs one stat per entry and one
// question to the store; no file is read.
//
// The fingerprint is the SHA-256 of every entry's path, type, permission
// bits, size, modification and change times (nanoseconds), inode and
// device numbers, and a link's text (fingerprintTree). The change time
// (ctime) is what makes it safe: an edit that keeps a file's size and
// resets its modification time (touch -d) still moves its ctime, which no
// user can set. A tree with an entry whose times are within racyWindow of
// the walk is not cached (a change in the same clock tick as the walk's
// stat could leave every time unchanged); a tree with a device, socket or
// named pipe is not cached either, nor a push that follows links (what a
// link points to may be anywhere). Any change to any entry makes the push
// read the whole tree again.
type TreeCache struct {
	// Dir holds the cache files ($XDG_CACHE_HOME/artstore/trees for the
	// CLI). It is created when missing.
	Dir string
	// Store names the store pushed to (its kind and location), so the
	// same directory pushed to two stores has two cache files.
	Store string
	// Now is the clock the racy-window test reads; nil means time.Now.
	Now func() time.Time
}

// racyWindow: entries whose modification or change time is this close to
// the fingerprint walk's start (or after it) make the tree uncacheable for
// this push. Filesystem timestamps come from a coarse clock (one tick, a
// few milliseconds; two seconds on FAT), so a change right after the stat
// may keep the times the stat saw.
const racyWindow = 2 * time.Second

// treeCacheMagic opens every cache file, followed by the format version.
const treeCacheMagic = "artstore-tree-cache"

// treeCacheVersion is the cache file format and fingerprint version; a
// file of another version is ignored (and replaced after the push).
const treeCacheVersion = 1

// errTreeCacheFormat: a cache file is not one this version wrote.
var errTreeCacheFormat = errors.New("not a tree cache file of this version")

// treeCacheRecord is one cache file.
type treeCacheRecord struct {
	Key         content.Digest // of the store, directory and push settings (treeCacheKey)
	Fingerprint content.Digest // of the tree's metadata (fingerprintTree)
	Manifest    content.Digest
	Content     content.Digest
	Size        int64
	Chunks      int64
}

// encode writes r in the cache file format: one "name value" line per
// field after the magic line, in a fixed order.
func (r treeCacheRecord) encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %d\nkey %s\nfingerprint %s\nmanifest %s\ncontent %s\nsize %d\nchunks %d\n",
		treeCacheMagic, treeCacheVersion, r.Key, r.Fingerprint, r.Manifest, r.Content, r.Size, r.Chunks)
	return b.Bytes()
}

// parseTreeCacheRecord parses a cache file strictly: exactly the lines
// encode writes, canonical digests and numbers; anything else is
// errTreeCacheFormat.
func parseTreeCacheRecord(b []byte) (treeCacheRecord, error) {
	var r treeCacheRecord
	if len(b) > 4096 {
		return r, errTreeCacheFormat
	}
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) != 8 || len(lines[7]) != 0 || string(lines[0]) != treeCacheMagic+" "+strconv.Itoa(treeCacheVersion) {
		return r, errTreeCacheFormat
	}
	field := func(i int, name string) (string, error) {
		k, v, ok := bytes.Cut(lines[i], []byte(" "))
		if !ok || string(k) != name {
			return "", errTreeCacheFormat
		}
		return string(v), nil
	}
	digests := []*content.Digest{&r.Key, &r.Fingerprint, &r.Manifest, &r.Content}
	for i, name := range []string{"key", "fingerprint", "manifest", "content"} {
		v, err := field(1+i, name)
		if err != nil {
			return r, err
		}
		if *digests[i], err = content.ParseDigest(v); err != nil {
			return r, fmt.Errorf("%w: %v", errTreeCacheFormat, err)
		}
	}
	nums := []*int64{&r.Size, &r.Chunks}
	for i, name := range []string{"size", "chunks"} {
		v, err := field(5+i, name)
		if err != nil {
			return r, err
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || strconv.FormatInt(n, 10) != v {
			return r, errTreeCacheFormat
		}
		*nums[i] = n
	}
	return r, nil
}

// key returns the cache key of a push of dir (absolute) with cfg: the
// store, the directory and every setting that shapes the manifest.
func (c *TreeCache) key(dir string, cfg pushConfig) content.Digest {
	h := sha256.New()
	p := cfg.Chunker
	fmt.Fprintf(h, "artstore tree cache key %d\x00%s\x00%s\x00%s\x00%s %d %d %d\x00%d",
		treeCacheVersion, c.Store, dir, cfg.MediaType, p.Algorithm, p.Min, p.Avg, p.Max, cfg.TreeSchema)
	return content.FromSHA256([sha256.Size]byte(h.Sum(nil)))
}

// load reads the cache file at path; ok is false when it is missing,
// unreadable, damaged, or for another key.
func (c *TreeCache) load(path string, key content.Digest) (treeCacheRecord, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return treeCacheRecord{}, false
	}
	r, err := parseTreeCacheRecord(b)
	if err != nil || r.Key != key {
		return treeCacheRecord{}, false
	}
	return r, true
}

// save writes r to path atomically (a temporary file renamed over it),
// best effort: a cache that cannot be written only costs the next push
// its shortcut.
func (c *TreeCache) save(path string, r treeCacheRecord) {
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return
	}
	tmp := fmt.Sprintf("%s.%016x.tmp", path, rand.Uint64())
	if err := os.WriteFile(tmp, r.encode(), 0o600); err != nil {
		os.Remove(tmp)
		return
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
	}
}

// push is PushTree of a stream-layout tree through the cache: the
// previous manifest when the tree's fingerprint matches the cache file's
// and the store still holds that manifest; else a full push, whose
// manifest is cached under the fingerprint taken before it read anything
// (a change while it reads then shows as a changed fingerprint next time).
func (c *TreeCache) push(ctx context.Context, dir string, store BlobStore, cfg pushConfig) (PushResult, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return pushTreeStream(ctx, dir, store, cfg)
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	key := c.key(abs, cfg)
	path := filepath.Join(c.Dir, key.Hex())
	fp, cacheable, err := fingerprintTree(abs, now().Add(-racyWindow))
	if err != nil {
		cacheable = false // the push reports what is wrong with the tree
	}
	if cacheable {
		if r, ok := c.load(path, key); ok && r.Fingerprint == fp {
			missing, err := store.Missing(ctx, []content.Digest{r.Manifest})
			if err == nil && len(missing) == 0 {
				return PushResult{ManifestDigest: r.Manifest, ContentDigest: r.Content, Size: r.Size, Kind: content.KindTree,
					Chunks: int(r.Chunks), DeduplicatedBytes: r.Size}, nil
			}
		}
	}
	res, err := pushTreeStream(ctx, dir, store, cfg)
	if err != nil || !cacheable {
		return res, err
	}
	c.save(path, treeCacheRecord{Key: key, Fingerprint: fp, Manifest: res.ManifestDigest, Content: res.ContentDigest,
		Size: res.Size, Chunks: int64(res.Chunks)})
	return res, nil
}
