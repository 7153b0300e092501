package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// openKeyed opens a local store in dir that signs with the key at keyPath.
func openKeyed(t *testing.T, dir, keyPath string) *Local {
	t.Helper()
	l, err := OpenLocal(context.Background(), LocalOptions{Dir: dir, Actor: "t", CheckpointKey: keyPath})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func pushMany(t *testing.T, l *Local, name string, n int) {
	t.Helper()
	for i := range n {
		pushBytes(t, l, name, []byte(fmt.Sprintf("%s %d", name, i)))
	}
}

// TestWitnessCheckpoint: the first contact remembers the key and
// checkpoint; an honest log that grew is accepted and remembered; a log
// rolled back, a fork, and a log signed by another key are each reported,
// and the state is left as it was.
func TestWitnessCheckpoint(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	state := filepath.Join(root, "state")
	key := filepath.Join(root, "checkpoint.key")
	const url = "https://daemon.example:8443"
	a := openKeyed(t, filepath.Join(root, "a"), key)
	pushMany(t, a, "a", 4)

	res, err := WitnessCheckpoint(ctx, a, url, state)
	if err != nil || !res.First {
		t.Fatalf("first contact: %+v, %v", res, err)
	}
	st, err := os.Stat(res.StateFile)
	if err != nil || st.Mode().Perm()&0o077 != 0 {
		t.Fatalf("state file: %v, %v", st, err)
	}
	pushMany(t, a, "b", 2)
	res, err = WitnessCheckpoint(ctx, a, url, state)
	if err != nil || res.First || !res.Report.OK || res.Report.SavedSize != 4 {
		t.Fatalf("grown log: %+v %+v, %v", res, res.Report, err)
	}
	saved, err := LoadCheckpointState(state, url)
	if err != nil {
		t.Fatal(err)
	}
	before := string(saved.Marshal())
	if !strings.Contains(before, "\n6\n") {
		t.Errorf("state after a grown log does not hold the 6-event checkpoint:\n%s", before)
	}

	// The same key over another log: shorter (rolled back), then longer
	// with other events (forked).
	b := openKeyed(t, filepath.Join(root, "b"), key)
	pushMany(t, b, "x", 2)
	bad := func(st Store, want string) {
		t.Helper()
		res, err := WitnessCheckpoint(ctx, st, url, state)
		if err != nil || res.Report == nil || res.Report.OK || !strings.Contains(res.Report.Problem, want) {
			t.Fatalf("want a report saying %q: %+v, %v", want, res, err)
		}
		now, err := LoadCheckpointState(state, url)
		if err != nil || string(now.Marshal()) != before {
			t.Errorf("the state changed after a failed check: %v", err)
		}
	}
	bad(b, "rolled back")
	pushMany(t, b, "y", 6)
	bad(b, "not an extension")
	c := openKeyed(t, filepath.Join(root, "c"), filepath.Join(root, "other.key"))
	pushMany(t, c, "z", 7)
	bad(c, "does not verify with the key")
	// The honest log still passes.
	if res, err := WitnessCheckpoint(ctx, a, url, state); err != nil || !res.Report.OK {
		t.Fatalf("honest log after the failures: %+v, %v", res, err)
	}
}

func TestCheckpointStateParse(t *testing.T) {
	root := t.TempDir()
	l := openKeyed(t, filepath.Join(root, "s"), filepath.Join(root, "k"))
	pushMany(t, l, "a", 1)
	ctx := context.Background()
	k, _ := l.LogKey(ctx)
	cp, _ := l.Checkpoint(ctx)
	s := CheckpointState{URL: "http://h:1", VerifierKey: k.VerifierKey, Checkpoint: []byte(cp.Signed)}
	got, err := ParseCheckpointState(s.Marshal())
	if err != nil || string(got.Marshal()) != string(s.Marshal()) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for name, b := range map[string]string{
		"empty":      "",
		"header":     strings.Replace(string(s.Marshal()), "v1", "v2", 1),
		"no key":     strings.Replace(string(s.Marshal()), "key ", "kee ", 1),
		"altered":    strings.Replace(string(s.Marshal()), "\n1\n", "\n2\n", 1),
		"no note":    stateHeader + "\nurl u\nkey k\n",
		"extra line": strings.Replace(string(s.Marshal()), "\n\n", "\nx\n\n", 1),
	} {
		if _, err := ParseCheckpointState([]byte(b)); !errors.Is(err, ErrMalformedState) {
			t.Errorf("%s: %v, want ErrMalformedState", name, err)
		}
	}
}

// FuzzParseCheckpointState: the state file parser never panics, and what
// it accepts re-encodes to the same bytes.
func FuzzParseCheckpointState(f *testing.F) {
	f.Add([]byte(stateHeader + "\nurl http://h\nkey k+1+AQ\n\no\n1\nAAAA\n\n— k x\n"))
	f.Add([]byte(""))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseCheckpointState(b)
		if err != nil {
			return
		}
		if string(s.Marshal()) != string(b) {
			t.Errorf("accepted %q re-encodes as %q", b, s.Marshal())
		}
	})
}
