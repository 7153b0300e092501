package client

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/tlog"
)

// LogKey returns the public key the store signs checkpoints with; the key
// (the store directory's checkpoint.key unless LocalOptions.CheckpointKey
// says otherwise) is created at first use.
func (l *Local) LogKey(ctx context.Context) (*LogKey, error) {
	k, err := l.svc.LogKey(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	return &k, nil
}

// Checkpoint returns the log's current tree head, signed.
func (l *Local) Checkpoint(ctx context.Context) (*Checkpoint, error) {
	c, err := l.svc.Checkpoint(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	return &c, nil
}

// InclusionProof proves event seq is in the tree of size events.
func (l *Local) InclusionProof(ctx context.Context, seq, size int64) (*InclusionProof, error) {
	p, err := l.svc.InclusionProof(ctx, seq, size)
	if err != nil {
		return nil, mapErr(err)
	}
	return &p, nil
}

// ConsistencyProof proves the tree of old events a prefix of the tree of new.
func (l *Local) ConsistencyProof(ctx context.Context, old, new int64) (*ConsistencyProof, error) {
	p, err := l.svc.ConsistencyProof(ctx, old, new)
	if err != nil {
		return nil, mapErr(err)
	}
	return &p, nil
}

// LogKey asks the daemon for its checkpoint key.
func (r *Remote) LogKey(ctx context.Context) (*LogKey, error) {
	var k LogKey
	if err := r.do(ctx, request{method: "GET", path: "/v1/log/key", idempotent: true, out: &k}); err != nil {
		return nil, mapErr(err)
	}
	return &k, nil
}

// Checkpoint asks the daemon for its current signed checkpoint.
func (r *Remote) Checkpoint(ctx context.Context) (*Checkpoint, error) {
	var c Checkpoint
	if err := r.do(ctx, request{method: "GET", path: "/v1/log/checkpoint", idempotent: true, out: &c}); err != nil {
		return nil, mapErr(err)
	}
	return &c, nil
}

// InclusionProof asks the daemon to prove event seq in its tree of size
// events.
func (r *Remote) InclusionProof(ctx context.Context, seq, size int64) (*InclusionProof, error) {
	q := url.Values{"seq": {strconv.FormatInt(seq, 10)}, "size": {strconv.FormatInt(size, 10)}}
	var p InclusionProof
	if err := r.do(ctx, request{method: "GET", path: "/v1/log/proof/inclusion", query: q, idempotent: true, out: &p}); err != nil {
		return nil, mapErr(err)
	}
	return &p, nil
}

// ConsistencyProof asks the daemon to prove its tree of old events a
// prefix of its tree of new.
func (r *Remote) ConsistencyProof(ctx context.Context, old, new int64) (*ConsistencyProof, error) {
	q := url.Values{"old": {strconv.FormatInt(old, 10)}, "new": {strconv.FormatInt(new, 10)}}
	var p ConsistencyProof
	if err := r.do(ctx, request{method: "GET", path: "/v1/log/proof/consistency", query: q, idempotent: true, out: &p}); err != nil {
		return nil, mapErr(err)
	}
	return &p, nil
}

// CheckCheckpoint checks that st's log today extends the log of the
// signed checkpoint saved earlier, both signed by the key vkey: it fetches
// the current checkpoint and a consistency proof from the saved size to
// it, and verifies both here (app.CheckCheckpoint), trusting nothing st
// says that is not signed or proved. A log that fails (rolled back, cut
// short, rewritten, forked, or a checkpoint another key signed) is a
// report with OK false and Problem; errors are a saved checkpoint or key
// that cannot be read, or a store that cannot be asked.
func CheckCheckpoint(ctx context.Context, st Store, saved []byte, vkey string) (*CheckpointReport, error) {
	cur, err := st.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	return checkWith(ctx, st, saved, vkey, cur)
}

// checkWith is CheckCheckpoint with st's current checkpoint cur fetched.
func checkWith(ctx context.Context, st Store, saved []byte, vkey string, cur *Checkpoint) (*CheckpointReport, error) {
	var pf ConsistencyProof
	old, err := tlog.OpenCheckpoint(saved, vkey)
	switch {
	case err != nil && !errors.Is(err, tlog.ErrBadSignature):
		return nil, mapErr(fmt.Errorf("saved checkpoint: %w", err))
	case err == nil && old.Size <= cur.Size:
		p, err := st.ConsistencyProof(ctx, old.Size, cur.Size)
		if err != nil {
			return nil, err
		}
		pf = *p
	}
	rep, err := app.CheckCheckpoint(saved, vkey, *cur, pf)
	if err != nil {
		return nil, mapErr(err)
	}
	return &rep, nil
}
