package spool

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"testing"
)

func TestSpool(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	s := &Spool{}
	defer s.Close()
	want := make([]byte, MemLimit+12345)
	rand.NewChaCha8([32]byte{5}).Read(want)
	for p := want; len(p) > 0; {
		n := min(len(p), 7000)
		if k, err := s.Write(p[:n]); err != nil || k != n {
			t.Fatalf("Write: %d, %v", k, err)
		}
		p = p[n:]
	}
	if !s.InFile() {
		t.Fatal("a spool past MemLimit bytes has no file")
	}
	if len(s.mem) > MemLimit {
		t.Fatalf("%d bytes in memory, over MemLimit", len(s.mem))
	}
	for range 2 { // read back twice, as a retried upload does
		got, err := io.ReadAll(s.Reader())
		if err != nil || !bytes.Equal(got, want) || s.Len() != int64(len(want)) {
			t.Fatalf("read back %d bytes (Len %d), %v; want the %d written", len(got), s.Len(), err, len(want))
		}
	}
	if ents, _ := os.ReadDir(os.Getenv("TMPDIR")); len(ents) != 0 && os.PathSeparator == '/' {
		t.Fatalf("the spool's temporary file is visible: %v", ents)
	}
}
