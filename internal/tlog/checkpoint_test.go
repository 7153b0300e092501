package tlog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

func testKey(t testing.TB, origin string) (*Key, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "checkpoint.key")
	k, err := GenerateKey(path, origin)
	if err != nil {
		t.Fatal(err)
	}
	return k, path
}

func TestKeyFileAndReload(t *testing.T) {
	k, path := testKey(t, "artstore.example/log")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	if !strings.HasPrefix(k.VerifierKey(), "artstore.example/log+") || k.Origin() != "artstore.example/log" {
		t.Errorf("verifier key %q, origin %q", k.VerifierKey(), k.Origin())
	}
	k2, err := LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if k2.VerifierKey() != k.VerifierKey() {
		t.Errorf("reloaded verifier key %q, want %q", k2.VerifierKey(), k.VerifierKey())
	}
	// A checkpoint signed with the reloaded key opens with the first's
	// verifier key.
	h := Head{Size: 3, Root: sha256.Sum256([]byte("root"))}
	b, err := k2.Sign(h)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := OpenCheckpoint(b, k.VerifierKey()); err != nil || c.Head != h || c.Origin != k.Origin() {
		t.Errorf("OpenCheckpoint = %+v, %v", c, err)
	}
	if _, err := GenerateKey(path, "other"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("GenerateKey over an existing key: %v", err)
	}
	if k3, err := LoadKey(path); err != nil || k3.VerifierKey() != k.VerifierKey() {
		t.Errorf("key changed by a refused GenerateKey: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("key directory holds %d entries, want only the key", len(ents))
	}
}

func TestLoadKeyRefuses(t *testing.T) {
	_, path := testKey(t, "o")
	if runtime.GOOS != "windows" {
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("LoadKey of a 0644 key: %v", err)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.key")
	if err := os.WriteFile(bad, []byte("PRIVATE+KEY+o+00000000+AAAA\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("LoadKey of a bad key: %v, want ErrMalformed", err)
	}
	if _, err := LoadKey(filepath.Join(t.TempDir(), "none")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadKey of a missing file: %v, want ErrNotExist", err)
	}
	for _, o := range []string{"", "a b", "a+b", "a\nb"} {
		if _, err := GenerateKey(filepath.Join(t.TempDir(), "k"), o); !errors.Is(err, ErrMalformed) {
			t.Errorf("GenerateKey(origin %q): %v, want ErrMalformed", o, err)
		}
	}
}

func TestCheckpointFormat(t *testing.T) {
	k, _ := testKey(t, "artstore.example/log")
	h := Head{Size: 42, Root: sha256.Sum256([]byte("r"))}
	b, err := k.Sign(h)
	if err != nil {
		t.Fatal(err)
	}
	want := "artstore.example/log\n42\n" + h.Root.String() + "\n\n— artstore.example/log "
	if !strings.HasPrefix(string(b), want) {
		t.Errorf("checkpoint:\n%s\nwant it to start with:\n%s", b, want)
	}
	other, _ := testKey(t, "artstore.example/log")
	renamed, _ := testKey(t, "elsewhere")
	flip := bytes.Replace(b, []byte("\n42\n"), []byte("\n43\n"), 1)
	plus := bytes.Replace(b, []byte("\n42\n"), []byte("\n+42\n"), 1)
	for name, tc := range map[string]struct {
		b    []byte
		vkey string
		want error
	}{
		"size changed":     {flip, k.VerifierKey(), ErrBadSignature},
		"other key":        {b, other.VerifierKey(), ErrBadSignature},
		"other origin key": {b, renamed.VerifierKey(), ErrBadSignature},
		"bad verifier key": {b, "nonsense", ErrMalformed},
		"not a note":       {[]byte("hello"), k.VerifierKey(), ErrMalformed},
		"size +42":         {mustSignText(t, k, "artstore.example/log\n+42\n"+h.Root.String()+"\n"), k.VerifierKey(), ErrMalformed},
		"short hash":       {mustSignText(t, k, "artstore.example/log\n42\nAAAA\n"), k.VerifierKey(), ErrMalformed},
		"origin mismatch":  {mustSignText(t, k, "other\n42\n"+h.Root.String()+"\n"), k.VerifierKey(), ErrBadSignature},
		"plus, unsigned":   {plus, k.VerifierKey(), ErrBadSignature},
	} {
		if _, err := OpenCheckpoint(tc.b, tc.vkey); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

// mustSignText signs an arbitrary note body with k.
func mustSignText(t *testing.T, k *Key, text string) []byte {
	t.Helper()
	b, err := signText(k, text)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type fakeLog struct {
	m *memTree
}

func (f fakeLog) TreeHead(context.Context) (Head, error) { return f.m.t.Head(), nil }

func (f fakeLog) ConsistencyProof(_ context.Context, a, b int64) (Proof, error) {
	var n int
	return ConsistencyProof(a, b, f.m.read(&n))
}

func TestCheckConsistentAndSignedCheckpoint(t *testing.T) {
	ctx := context.Background()
	k, _ := testKey(t, "o")
	m := newMemTree()
	for i := range 10 {
		m.add(sha256.Sum256([]byte{byte(i)}))
	}
	b, h, err := SignedCheckpoint(ctx, fakeLog{m}, k)
	if err != nil || h.Size != 10 {
		t.Fatalf("SignedCheckpoint: %v, %v", h, err)
	}
	saved, err := OpenCheckpoint(b, k.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		m.add(sha256.Sum256([]byte{byte(100 + i)}))
	}
	if cur, err := CheckConsistent(ctx, fakeLog{m}, saved); err != nil || cur.Size != 17 {
		t.Errorf("CheckConsistent of an extended log: %v, %v", cur, err)
	}
	// The same number of events with leaf 4 different: not an extension.
	m2 := newMemTree()
	for i := range 17 {
		v := byte(i)
		if i >= 10 {
			v = byte(100 + i - 10)
		}
		if i == 4 {
			v = 99
		}
		m2.add(sha256.Sum256([]byte{v}))
	}
	if _, err := CheckConsistent(ctx, fakeLog{m2}, saved); !errors.Is(err, ErrInvalidProof) {
		t.Errorf("CheckConsistent of a rewritten log: %v, want ErrInvalidProof", err)
	}
	short := newMemTree()
	short.add(sha256.Sum256([]byte{0}))
	if _, err := CheckConsistent(ctx, fakeLog{short}, saved); !errors.Is(err, ErrInvalidProof) {
		t.Errorf("CheckConsistent of a shorter log: %v, want ErrInvalidProof", err)
	}
}

func TestProofText(t *testing.T) {
	p := Proof{sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b"))}
	b, err := p.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	var q Proof
	if err := q.UnmarshalText(b); err != nil || len(q) != 2 || q[0] != p[0] || q[1] != p[1] {
		t.Errorf("round trip: %v, %v", q, err)
	}
	if q, err := ParseProof(nil); err != nil || q == nil || len(q) != 0 {
		t.Errorf("empty proof: %v, %v", q, err)
	}
	line := p[0].String()
	for name, in := range map[string]string{
		"no newline":    line,
		"short":         line[:43] + "\n",
		"not base64":    "!" + line[1:] + "\n",
		"non-canonical": line[:42] + "B=\n",
		"blank line":    line + "\n\n",
		"crlf":          line + "\r\n",
		"too long":      strings.Repeat(line+"\n", MaxProofLen+1),
	} {
		if _, err := ParseProof([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

func FuzzParseProof(f *testing.F) {
	p := Proof{sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b"))}
	b, _ := p.MarshalText()
	f.Add(b)
	f.Add([]byte(""))
	f.Add([]byte("AAAA\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := ParseProof(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not match ErrMalformed", err)
			}
			return
		}
		out, _ := p.MarshalText()
		if !bytes.Equal(out, in) {
			t.Fatalf("accepted %q, which encodes back as %q", in, out)
		}
	})
}

func FuzzOpenCheckpoint(f *testing.F) {
	k, _ := testKey(f, "artstore.example/log")
	good, _ := k.Sign(Head{Size: 5, Root: sha256.Sum256(nil)})
	f.Add(good)
	f.Add([]byte("artstore.example/log\n5\nAAAA\n\n— artstore.example/log AAAA\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := OpenCheckpoint(in, k.VerifierKey())
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrSize) {
				t.Fatalf("error %v matches no sentinel", err)
			}
			return
		}
		// Anything accepted is what the key signed: re-signing it gives
		// the same body.
		again, err := k.Sign(c.Head)
		if err != nil {
			t.Fatal(err)
		}
		if body := func(b []byte) string { s, _, _ := strings.Cut(string(b), "\n\n"); return s }; body(again) != body(in) {
			t.Fatalf("accepted %q, which signs back as %q", in, again)
		}
	})
}

// signText signs an arbitrary note body.
func signText(k *Key, text string) ([]byte, error) {
	return note.Sign(&note.Note{Text: text}, k.signer)
}

// A signature's base64 has unused bits in its last character (68 bytes
// encode to 92 characters and one '='); a decoder that ignores them
// accepts four spellings of one signature. OpenCheckpoint accepts one, so
// a checkpoint, like its body, has one form and any change to it fails.
func TestOpenCheckpointRefusesNonCanonicalSignature(t *testing.T) {
	k, _ := testKey(t, "example.com/log")
	vkey := k.VerifierKey()
	b, err := k.Sign(Head{Size: 3, Root: EmptyRoot()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCheckpoint(b, vkey); err != nil {
		t.Fatal(err)
	}
	i := bytes.LastIndexByte(b, '=') - 1 // the last character with data
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	v := strings.IndexByte(alphabet, b[i])
	for _, bit := range []int{1, 2} { // the two bits no byte uses
		c := bytes.Clone(b)
		c[i] = alphabet[v^bit]
		if _, err := OpenCheckpoint(c, vkey); !errors.Is(err, ErrMalformed) {
			t.Errorf("signature with unused bit %d flipped: %v, want ErrMalformed", bit, err)
		}
	}
}
