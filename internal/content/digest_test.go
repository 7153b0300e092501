package content_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/artifact-store/artstore/internal/content"
)

// Known SHA-256 vectors (FIPS 180-2 and sha256sum of the empty file).
const (
	hexEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	hexABC   = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
)

func TestParseDigest(t *testing.T) {
	valid := "sha256:" + hexABC
	tests := []struct {
		name    string
		in      string
		wantErr string // substring of the error; "" means success
	}{
		{"canonical", valid, ""},
		{"all zero", "sha256:" + strings.Repeat("0", 64), ""},
		{"all f", "sha256:" + strings.Repeat("f", 64), ""},
		{"empty", "", "want <algorithm>:<hex>"},
		{"no colon", "sha256" + hexABC, "want <algorithm>:<hex>"},
		{"bare hex", hexABC, "want <algorithm>:<hex>"},
		{"algorithm only", "sha256:", "needs 64 hex characters, got 0"},
		{"unknown algorithm", "sha512:" + hexABC, `unknown algorithm "sha512"`},
		{"upper-case algorithm", "SHA256:" + hexABC, "unknown algorithm"},
		{"empty algorithm", ":" + hexABC, "unknown algorithm"},
		{"short", "sha256:" + hexABC[:63], "got 63"},
		{"long", "sha256:" + hexABC + "0", "got 65"},
		{"upper-case hex", "sha256:" + strings.ToUpper(hexABC), "character 7 is not lowercase hex"},
		{"one upper-case char", "sha256:" + hexABC[:63] + "D", "character 70 is not lowercase hex"},
		{"non-hex letter", "sha256:" + hexABC[:10] + "g" + hexABC[11:], "character 17 is not lowercase hex"},
		{"leading space", " sha256:" + hexABC, "unknown algorithm"},
		{"trailing newline", valid + "\n", "got 65"},
		{"double colon", "sha256::" + hexABC[1:], "character 7 is not lowercase hex"},
		{"path traversal", "sha256:../../../../../../etc/passwd" + strings.Repeat("a", 36), "not lowercase hex"},
		{"slash in hex", "sha256:" + hexABC[:2] + "/" + hexABC[3:], "character 9 is not lowercase hex"},
		{"NUL byte", "sha256:" + hexABC[:63] + "\x00", "not lowercase hex"},
		{"non-ASCII", "sha256:" + hexABC[:62] + "é", "not lowercase hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := content.ParseDigest(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseDigest(%q): %v", tt.in, err)
				}
				if got := d.String(); got != tt.in {
					t.Errorf("String() = %q, want %q", got, tt.in)
				}
				if d.Algorithm() != content.SHA256 || d.Hex() != tt.in[len("sha256:"):] {
					t.Errorf("Algorithm/Hex = %q/%q", d.Algorithm(), d.Hex())
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseDigest(%q) = %v, want error containing %q", tt.in, d, tt.wantErr)
			}
			if !errors.Is(err, content.ErrInvalidDigest) {
				t.Errorf("error %v does not wrap ErrInvalidDigest", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if !d.IsZero() {
				t.Errorf("failed parse returned non-zero digest %v", d)
			}
		})
	}
}

func TestParseDigestClipsHugeInput(t *testing.T) {
	in := "sha256:" + strings.Repeat("z", 1<<20)
	_, err := content.ParseDigest(in)
	if err == nil {
		t.Fatal("want error")
	}
	if n := len(err.Error()); n > 400 {
		t.Errorf("error message is %d bytes long; huge input must be clipped", n)
	}
}

func TestMustParseDigest(t *testing.T) {
	if got := content.MustParseDigest("sha256:" + hexABC).Hex(); got != hexABC {
		t.Errorf("MustParseDigest hex = %q", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("MustParseDigest of invalid input did not panic")
		}
	}()
	content.MustParseDigest("sha256:nope")
}

func TestNewDigest(t *testing.T) {
	sum := bytes.Repeat([]byte{0xab}, 32)
	tests := []struct {
		name    string
		alg     content.Algorithm
		sum     []byte
		want    string
		wantErr string
	}{
		{"sha256", content.SHA256, sum, "sha256:" + strings.Repeat("ab", 32), ""},
		{"unknown algorithm", "md5", sum, "", `unknown algorithm "md5"`},
		{"empty algorithm", "", sum, "", "unknown algorithm"},
		{"short sum", content.SHA256, sum[:31], "", "must be 32 bytes, got 31"},
		{"long sum", content.SHA256, append(sum, 0), "", "must be 32 bytes, got 33"},
		{"nil sum", content.SHA256, nil, "", "got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := content.NewDigest(tt.alg, tt.sum)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, content.ErrInvalidDigest) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NewDigest = %v, %v; want ErrInvalidDigest containing %q", d, err, tt.wantErr)
				}
				return
			}
			if err != nil || d.String() != tt.want {
				t.Fatalf("NewDigest = %v, %v; want %s", d, err, tt.want)
			}
		})
	}
}

func TestFromBytesAndReader(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"", hexEmpty},
		{"abc", hexABC},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	}
	for _, tt := range tests {
		if got := content.FromBytes([]byte(tt.in)); got.String() != "sha256:"+tt.want {
			t.Errorf("FromBytes(%q) = %s, want sha256:%s", tt.in, got, tt.want)
		}
		d, n, err := content.FromReader(iotest.OneByteReader(strings.NewReader(tt.in)))
		if err != nil || n != int64(len(tt.in)) || d.Hex() != tt.want {
			t.Errorf("FromReader(%q) = %s, %d, %v; want sha256:%s, %d", tt.in, d, n, err, tt.want, len(tt.in))
		}
	}

	boom := errors.New("boom")
	d, n, err := content.FromReader(io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) || n != 3 || !d.IsZero() {
		t.Errorf("FromReader with failing reader = %v, %d, %v; want zero, 3, boom", d, n, err)
	}
}

func TestDigestAccessors(t *testing.T) {
	d := content.MustParseDigest("sha256:" + hexABC)
	if d.IsZero() {
		t.Error("parsed digest IsZero")
	}
	if got := d.Short(); got != hexABC[:12] {
		t.Errorf("Short() = %q", got)
	}
	if got, want := d.Key(), "sha256/ba/78/"+hexABC; got != want {
		t.Errorf("Key() = %q, want %q", got, want)
	}
	if d != content.FromBytes([]byte("abc")) {
		t.Error("digests of the same bytes are not ==")
	}
	m := map[content.Digest]int{d: 1}
	if m[content.MustParseDigest("sha256:"+hexABC)] != 1 {
		t.Error("digest is not usable as a map key")
	}

	var zero content.Digest
	if !zero.IsZero() || zero.String() != "" || zero.Short() != "" || zero.Hex() != "" || zero.Algorithm() != "" {
		t.Errorf("zero digest: IsZero=%v String=%q Short=%q", zero.IsZero(), zero.String(), zero.Short())
	}
	defer func() {
		if recover() == nil {
			t.Error("Key() of the zero digest did not panic")
		}
	}()
	_ = zero.Key()
}

func TestAlgorithm(t *testing.T) {
	if !content.SHA256.Available() {
		t.Error("sha256 not available")
	}
	for _, a := range []content.Algorithm{"", "SHA256", "sha512", "md5"} {
		if a.Available() {
			t.Errorf("%q reported available", a)
		}
	}
	if h := content.SHA256.New(); h.Size() != 32 {
		t.Errorf("sha256 hash size %d", h.Size())
	}
	defer func() {
		if recover() == nil {
			t.Error("New() of an unknown algorithm did not panic")
		}
	}()
	content.Algorithm("md5").New()
}

func TestParseKey(t *testing.T) {
	key := "sha256/ba/78/" + hexABC
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"canonical", key, ""},
		{"empty", "", "is not <alg>/<xx>/<yy>/<hex>"},
		{"bare digest", "sha256:" + hexABC, "is not <alg>/<xx>/<yy>/<hex>"},
		{"no shards", "sha256/" + hexABC, "is not <alg>/<xx>/<yy>/<hex>"},
		{"one shard", "sha256/ba/" + hexABC, "is not <alg>/<xx>/<yy>/<hex>"},
		{"extra level", "sha256/ba/78/00/" + hexABC, "is not <alg>/<xx>/<yy>/<hex>"},
		{"leading slash", "/" + key, "is not <alg>/<xx>/<yy>/<hex>"},
		{"trailing slash", key + "/", "is not <alg>/<xx>/<yy>/<hex>"},
		{"wrong first shard", "sha256/bb/78/" + hexABC, "shard directories that do not match"},
		{"wrong second shard", "sha256/ba/79/" + hexABC, "shard directories that do not match"},
		{"swapped shards", "sha256/78/ba/" + hexABC, "shard directories that do not match"},
		{"three-char shard", "sha256/ba7/78/" + hexABC, "shard directories that do not match"},
		{"dot-dot shard", "sha256/../78/" + hexABC, "shard directories that do not match"},
		{"dot shard", "sha256/./ba/" + hexABC, "shard directories that do not match"},
		{"upper-case hex", "sha256/BA/78/" + strings.ToUpper(hexABC), "not lowercase hex"},
		{"unknown algorithm", "sha512/ba/78/" + hexABC, "unknown algorithm"},
		{"colon in algorithm", "sha256:x/ba/78/" + hexABC, "got 66"},
		{"short hex", "sha256/ba/78/" + hexABC[:63], "got 63"},
		{"temp file name", "sha256/ba/78/" + hexABC + ".tmp", "got 68"},
		{"backslashes", `sha256\ba\78\` + hexABC, "is not <alg>/<xx>/<yy>/<hex>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := content.ParseKey(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseKey(%q): %v", tt.in, err)
				}
				if d.Key() != tt.in || d.Hex() != hexABC {
					t.Errorf("ParseKey(%q) = %v (key %q)", tt.in, d, d.Key())
				}
				return
			}
			if err == nil || !errors.Is(err, content.ErrInvalidDigest) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseKey(%q) = %v, %v; want ErrInvalidDigest containing %q", tt.in, d, err, tt.wantErr)
			}
		})
	}
}

func TestDigestText(t *testing.T) {
	d := content.MustParseDigest("sha256:" + hexABC)
	b, err := d.MarshalText()
	if err != nil || string(b) != d.String() {
		t.Fatalf("MarshalText = %q, %v", b, err)
	}
	zb, err := content.Digest{}.MarshalText()
	if err != nil || len(zb) != 0 {
		t.Fatalf("zero MarshalText = %q, %v; want empty", zb, err)
	}

	type doc struct {
		D content.Digest `json:"d"`
	}
	j, err := json.Marshal(doc{D: d})
	if err != nil || string(j) != `{"d":"sha256:`+hexABC+`"}` {
		t.Fatalf("json.Marshal = %s, %v", j, err)
	}
	j, err = json.Marshal(doc{})
	if err != nil || string(j) != `{"d":""}` {
		t.Fatalf("json.Marshal(zero) = %s, %v", j, err)
	}

	tests := []struct {
		name    string
		json    string
		want    content.Digest
		wantErr bool
	}{
		{"canonical", `{"d":"sha256:` + hexABC + `"}`, d, false},
		{"empty string is the zero digest", `{"d":""}`, content.Digest{}, false},
		{"absent field is the zero digest", `{}`, content.Digest{}, false},
		{"traversal", `{"d":"sha256:../../etc/passwd"}`, content.Digest{}, true},
		{"upper case", `{"d":"sha256:` + strings.ToUpper(hexABC) + `"}`, content.Digest{}, true},
		{"bare hex", `{"d":"` + hexABC + `"}`, content.Digest{}, true},
		{"number", `{"d":42}`, content.Digest{}, true},
		{"escaped slash", `{"d":"sha256:\u002f` + hexABC[1:] + `"}`, content.Digest{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got doc
			err := json.Unmarshal([]byte(tt.json), &got)
			if tt.wantErr != (err != nil) {
				t.Fatalf("json.Unmarshal(%s) error = %v, want error %v", tt.json, err, tt.wantErr)
			}
			if got.D != tt.want {
				t.Errorf("json.Unmarshal(%s) = %v, want %v", tt.json, got.D, tt.want)
			}
		})
	}

	// UnmarshalText on a failed parse leaves the previous value untouched.
	keep := d
	if err := keep.UnmarshalText([]byte("sha256:bad")); err == nil || !errors.Is(err, content.ErrInvalidDigest) {
		t.Fatalf("UnmarshalText(bad) = %v", err)
	}
	if keep != d {
		t.Errorf("failed UnmarshalText changed the digest to %v", keep)
	}
	if err := keep.UnmarshalText(nil); err != nil || !keep.IsZero() {
		t.Errorf("UnmarshalText(nil) = %v, digest %v; want zero", err, keep)
	}
}

func TestDigester(t *testing.T) {
	data := []byte("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
	for _, split := range []int{0, 1, 3, len(data) - 1, len(data)} {
		g := content.NewDigester(content.SHA256)
		if g.Size() != 0 || g.Digest().Hex() != hexEmpty {
			t.Fatalf("fresh digester: size %d digest %s", g.Size(), g.Digest())
		}
		for _, part := range [][]byte{data[:split], data[split:]} {
			if n, err := g.Write(part); n != len(part) || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
		// Digest must not reset the state: calling it twice gives the same answer.
		first := g.Digest()
		if first != content.FromBytes(data) || g.Digest() != first {
			t.Errorf("split %d: digest %s, want %s", split, first, content.FromBytes(data))
		}
		if g.Size() != int64(len(data)) {
			t.Errorf("split %d: Size() = %d", split, g.Size())
		}
		// Writing after Digest continues the same stream.
		g.Write([]byte("!"))
		if want := content.FromBytes(append(append([]byte(nil), data...), '!')); g.Digest() != want {
			t.Errorf("split %d: digest after more writes %s, want %s", split, g.Digest(), want)
		}
	}
}
