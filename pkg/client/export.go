package client

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/artifact-store/artstore/internal/bundle"
)

// ClosureAll as ExportRequest.Closure asks for the provenance inputs to
// any depth.
const ClosureAll = bundle.ClosureAll

// Export writes the evidence bundle of req to w. It appends retrieval
// records unless the store was opened with LocalOptions.RetrievalRecords
// off, as a pull does.
func (l *Local) Export(ctx context.Context, req ExportRequest, w io.Writer) (*ExportSummary, error) {
	export := l.svc.Export
	if !l.retrievals {
		export = l.svc.ExportUnrecorded
	}
	sum, err := export(ctx, l.self, req, w)
	if err != nil {
		return nil, mapErr(err)
	}
	return &sum, nil
}

// Export asks the daemon for the evidence bundle of req (POST /v1/export)
// and copies it to w as it arrives. The call is retried like any read
// until the daemon starts answering, never once a byte has reached w. The
// summary is read from the bundle itself as it passes: a bundle that
// breaks off (the daemon cuts the connection when it fails after the
// first byte) or is not a whole tar fails with ErrUnavailable.
func (r *Remote) Export(ctx context.Context, req ExportRequest, w io.Writer) (*ExportSummary, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	var resp *http.Response
	err = r.retry(ctx, true, func() error {
		hr, err := r.newRequest(ctx, http.MethodPost, "/v1/export", nil, strings.NewReader(string(body)))
		if err != nil {
			return err
		}
		hr.Header.Set("Content-Type", "application/json")
		res, err := r.hc.Do(hr)
		if err != nil {
			return r.transportErr(err)
		}
		if res.StatusCode >= 300 {
			defer res.Body.Close()
			return decodeError(res)
		}
		resp = res
		return nil
	})
	if err != nil {
		return nil, mapErr(err)
	}
	defer resp.Body.Close()
	sum, err := summarize(resp.Body, w)
	if err != nil {
		var we *writeError
		if errors.As(err, &we) {
			return nil, we.err
		}
		return nil, fmt.Errorf("%w: the bundle broke off: %v", ErrUnavailable, r.transportErr(err))
	}
	return sum, nil
}

// writeError is a failure to write the bundle to the caller's writer (not
// the daemon's fault).
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }

type teeWriter struct{ w io.Writer }

func (t teeWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if err != nil {
		return n, &writeError{fmt.Errorf("write the bundle: %w", err)}
	}
	return n, nil
}

// summarize copies the bundle r to w and returns what it holds, read from
// its index and the sizes of its artifacts' files; it fails unless r is a
// whole tar.
func summarize(r io.Reader, w io.Writer) (*ExportSummary, error) {
	tee := io.TeeReader(r, teeWriter{w})
	tr := tar.NewReader(tee)
	var sum *ExportSummary
	var bytes int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		name := strings.TrimPrefix(h.Name, bundle.Dir)
		switch {
		case name == bundle.IndexName:
			var ix bundle.Index
			if err := json.NewDecoder(io.LimitReader(tr, 64<<20)).Decode(&ix); err != nil {
				return nil, fmt.Errorf("%s: %w", bundle.IndexName, err)
			}
			sum = summaryOf(ix)
		case strings.HasPrefix(name, "artifacts/") && (strings.HasSuffix(name, "/content") || strings.Contains(name, "/files/")):
			bytes += h.Size
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return nil, err
		}
	}
	// The tar's end and padding.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return nil, err
	}
	if sum == nil {
		return nil, fmt.Errorf("the bundle has no %s", bundle.IndexName)
	}
	sum.Bytes = bytes
	return sum, nil
}

func summaryOf(ix bundle.Index) *ExportSummary {
	s := &ExportSummary{Origin: ix.Origin, Size: ix.Size, Root: ix.Root, Closure: ix.Closure, Events: len(ix.Events)}
	for _, a := range ix.Artifacts {
		s.Artifacts = append(s.Artifacts, ExportedArtifact{ID: a.ID, Ref: a.Ref, Digest: a.Digest.String(), Size: a.Size, Depth: a.Depth, Bytes: a.Bytes})
	}
	return s
}
