package bundle

import (
	"bytes"
	"context"
	"testing"

	"github.com/artifact-store/artstore/internal/bundle/bundletest"
)

type fixture struct{ *bundletest.Fixture }

func newFixture(t testing.TB) *fixture {
	f := bundletest.NewFixture(t)
	return &fixture{f}
}

// export writes the bundle of ids with closure, at the store's head.
func (f *fixture) export(t testing.TB, closure int, ids ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := Export(context.Background(), f.S, Request{IDs: ids, Closure: closure, Checkpoint: f.S.Checkpoint(), Key: f.S.Key.VerifierKey()}, &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
