package bundle

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzVerify feeds Verify arbitrary bytes, starting from real bundles: it
// must never panic, and it either verifies or fails with ErrInvalid (the
// input is in memory, so no other error can happen).
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.export(f, 0, fx.Old))
	f.Add(fx.export(f, 1, fx.Build))
	f.Add(fx.export(f, ClosureAll, fx.Release))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := Verify(bytes.NewReader(b), Options{})
		if rep == nil {
			t.Fatal("nil report")
		}
		if (err == nil) != rep.OK {
			t.Fatalf("err %v but OK %v", err, rep.OK)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error does not match ErrInvalid: %v", err)
		}
	})
}
