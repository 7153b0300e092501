package fakestore

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/artifact-store/artstore/pkg/client"
)

func TestUnconfiguredMethodsFail(t *testing.T) {
	s := &Store{}
	ctx := context.Background()
	calls := map[string]func() error{
		"Push":         func() error { _, err := s.Push(ctx, client.PushRequest{}); return err },
		"Pull":         func() error { _, err := s.Pull(ctx, "", io.Discard, client.PullOptions{}); return err },
		"PullToPath":   func() error { _, err := s.PullToPath(ctx, "", "", client.PullOptions{}); return err },
		"Get":          func() error { _, err := s.Get(ctx, ""); return err },
		"List":         func() error { _, err := s.List(ctx, client.Query{}); return err },
		"Tag":          func() error { _, err := s.Tag(ctx, "", ""); return err },
		"Label":        func() error { _, err := s.Label(ctx, "", nil, nil); return err },
		"Repair":       func() error { _, err := s.Repair(ctx, client.RepairRequest{}); return err },
		"Files":        func() error { return s.Files(ctx, "", nil) },
		"Lineage":      func() error { _, err := s.Lineage(ctx, "", client.LineageOptions{}); return err },
		"Delete":       func() error { _, err := s.Delete(ctx, ""); return err },
		"SetRetention": func() error { _, err := s.SetRetention(ctx, "", client.RetentionRequest{}); return err },
		"Hold":         func() error { _, err := s.Hold(ctx, "", ""); return err },
		"Release":      func() error { _, err := s.Release(ctx, ""); return err },
		"Events":       func() error { _, err := s.Events(ctx, 0, 0, 0); return err },
		"VerifyLog":    func() error { _, err := s.VerifyLog(ctx); return err },
		"Verify":       func() error { _, err := s.Verify(ctx, client.VerifyOptions{}); return err },
		"Rebuild":      func() error { return s.Rebuild(ctx) },
		"Health":       func() error { _, err := s.Health(ctx); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrNotConfigured) {
			t.Errorf("%s: err = %v, want ErrNotConfigured", name, err)
		}
	}
	if err := s.Close(); err != nil || !s.Closed {
		t.Errorf("Close = %v, Closed = %v", err, s.Closed)
	}
}
