package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/transfer"
)

// pushTarget is the transport-specific half of a push; runPush is the half
// both transports share (naming, checks before any byte is read, the
// transfer, and the one retry after garbage collection removed a blob).
type pushTarget struct {
	blobs transfer.BlobStore
	opts  transfer.PushOptions
	// precheck, if set, runs first (remote: is the token allowed this name?).
	precheck func(ctx context.Context, name string) error
	// lookup resolves a reference for the checks before upload: the
	// artifact's version and whether it is deleted; an absent one is an
	// error matching ErrNotFound or registry.ErrNotFound.
	lookup func(ctx context.Context, ref string) (version string, deleted bool, err error)
	// register registers the uploaded content under name.
	register func(ctx context.Context, name, mediaType string, tr transfer.PushResult) (Artifact, error)
	// blobsMissing reports whether a register error means that blobs the
	// push deduplicated against were collected meanwhile.
	blobsMissing func(err error) bool
	// storeID names the store for the tree cache's key (its kind and
	// location, never a credential).
	storeID string
	// cacheNow is the tree cache's clock (nil: time.Now).
	cacheNow func() time.Time
}

// runPush pushes req through t.
func runPush(ctx context.Context, req PushRequest, t pushTarget) (*PushResult, error) {
	if (req.Path == "") == (req.Reader == nil) {
		return nil, fmt.Errorf("push: %w: give exactly one of a path and a reader", ErrInvalid)
	}
	name := req.Name
	if name == "" {
		if req.Path == "" {
			return nil, fmt.Errorf("push: %w: standard input has no file name to name the artifact after; give a name (--name NAME)", ErrInvalid)
		}
		var err error
		if name, err = DeriveName(req.Path); err != nil {
			return nil, fmt.Errorf("push %s: %w", req.Path, err)
		}
	}
	if err := checkPush(ctx, name, req, t); err != nil {
		return nil, fmt.Errorf("push %s: %w", name, err)
	}
	opts := t.opts
	opts.FollowSymlinks, opts.Strict, opts.OnSkip = req.FollowSymlinks, req.Strict, req.OnSkip
	if req.Progress != nil {
		opts.Progress = func(p transfer.Progress) { req.Progress(p.Read, p.Written) }
	}
	if req.TreeCacheDir != "" {
		opts.TreeCache = &transfer.TreeCache{Dir: req.TreeCacheDir, Store: t.storeID, Now: t.cacheNow}
	}
	for attempt := 1; ; attempt++ {
		mediaType := req.MediaType // detected again on a retry
		if attempt > 1 {
			opts.TreeCache = nil // the blobs the cached manifest names are gone: read the tree
		}
		tr, err := pushSource(ctx, t.blobs, req, &mediaType, opts)
		if err != nil {
			return nil, fmt.Errorf("push %s: %w", name, err)
		}
		a, err := t.register(ctx, name, mediaType, tr)
		if err == nil {
			return &PushResult{Artifact: a, UploadedBytes: tr.UploadedBytes, DeduplicatedBytes: tr.DeduplicatedBytes, Chunks: tr.Chunks}, nil
		}
		// Garbage collection removed a blob this push deduplicated
		// against: upload what is missing (a path is read again; standard
		// input cannot be) and register once more.
		if attempt > 1 || req.Path == "" || !t.blobsMissing(err) {
			return nil, fmt.Errorf("push %s: register: %w", name, err)
		}
	}
}

// checkPush validates a push's metadata before any byte is read, so a bad
// name, label or input fails at once; the registry checks everything again
// atomically when the artifact is registered.
func checkPush(ctx context.Context, name string, req PushRequest, t pushTarget) error {
	if err := registry.ValidateName(name); err != nil {
		return err // its message says what names may contain
	}
	if t.precheck != nil {
		if err := t.precheck(ctx, name); err != nil {
			return err
		}
	}
	notFound := func(err error) bool { return errors.Is(err, ErrNotFound) || errors.Is(err, registry.ErrNotFound) }
	if req.Version != "" {
		if err := registry.ValidateVersion(req.Version); err != nil {
			return err
		}
		v, _, err := t.lookup(ctx, name+":"+req.Version)
		switch {
		case err == nil && v == req.Version:
			return fmt.Errorf("%w: %s:%s exists (versions are immutable; push without a version to get the next number)", ErrConflict, name, req.Version)
		case err == nil:
			return fmt.Errorf("%w: %s:%s is a tag; choose another version", ErrConflict, name, req.Version)
		case !notFound(err):
			return err
		}
	}
	for _, tag := range req.Tags {
		if err := registry.ValidateTag(tag); err != nil {
			return err
		}
	}
	for k, v := range req.Labels {
		if err := registry.ValidateLabel(k, v); err != nil {
			return err
		}
	}
	if err := checkMediaType(req.MediaType); err != nil {
		return err
	}
	ins, err := app.Inputs(req.Inputs)
	if err != nil {
		return mapErr(err)
	}
	for i, in := range ins {
		if in.Ref == "" {
			continue
		}
		_, deleted, err := t.lookup(ctx, in.Ref)
		if err == nil && deleted {
			err = fmt.Errorf("%s was deleted: %w", in.Ref, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("input %d: %w", i+1, err)
		}
	}
	return nil
}

// checkMediaType accepts "" (detect) or a type/subtype with optional
// parameters, other than the type reserved for directories.
func checkMediaType(mt string) error {
	if mt == "" {
		return nil
	}
	if mt == TreeMediaType {
		return fmt.Errorf("%w: media type %s is reserved for directories, which get it automatically", ErrInvalid, TreeMediaType)
	}
	base, _, err := mime.ParseMediaType(mt)
	if err == nil && !strings.Contains(base, "/") {
		err = errors.New("no subtype")
	}
	if err != nil {
		return fmt.Errorf("%w: media type %q: %v (want type/subtype, e.g. application/pdf)", ErrInvalid, mt, err)
	}
	return nil
}

// pushSource pushes req's path (a file, or a directory as a tree) or
// reader to blobs. An empty *mediaType is filled in: directories get
// TreeMediaType; streams are detected from the file extension or else from
// their first bytes, peeked through the same buffered reader the pipeline
// then reads (one pass).
func pushSource(ctx context.Context, blobs transfer.BlobStore, req PushRequest, mediaType *string, opts transfer.PushOptions) (transfer.PushResult, error) {
	var r io.Reader
	ext := ""
	if req.Reader != nil {
		// A stream (standard input) may block forever; the push must
		// still end when ctx is cancelled (SIGINT).
		r = newContextReader(ctx, req.Reader)
	}
	if req.Path != "" {
		st, err := os.Stat(req.Path)
		if err != nil {
			return transfer.PushResult{}, err
		}
		if st.IsDir() {
			if *mediaType != "" {
				return transfer.PushResult{}, fmt.Errorf("%w: %s is a directory; directories are stored as %s and take no other media type",
					ErrInvalid, req.Path, TreeMediaType)
			}
			*mediaType = TreeMediaType
			return transfer.PushTree(ctx, req.Path, blobs, opts)
		}
		f, err := os.Open(req.Path)
		if err != nil {
			return transfer.PushResult{}, err
		}
		defer f.Close()
		r, ext = f, filepath.Ext(req.Path)
	}
	if *mediaType == "" && ext != "" {
		*mediaType = mime.TypeByExtension(ext)
	}
	if *mediaType == "" {
		br := bufio.NewReaderSize(r, sniffLen)
		head, err := br.Peek(sniffLen)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return transfer.PushResult{}, fmt.Errorf("read input: %w", err)
		}
		*mediaType = http.DetectContentType(head)
		r = br
	}
	return transfer.Push(ctx, r, blobs, opts)
}
