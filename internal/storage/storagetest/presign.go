package storagetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
)

// SendSigned sends a presigned request with body (nil for none) and extra
// headers (a Range), and returns the status and response body.
func SendSigned(t testing.TB, sr storage.SignedRequest, body []byte, extra http.Header) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), sr.Method, sr.URL, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = sr.Header.Clone()
	for k, v := range extra {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", sr.Method, sr.URL, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read the answer to %s: %v", sr.Method, err)
	}
	return resp.StatusCode, got
}

// testPresign checks storage.Presigner, for backends that implement it:
// CheckPresign's verdict matches Options.PresignEnforced; presigned GETs
// read whole blobs and ranges; a presigned PUT stores exactly the bytes
// it was signed for and, on a server that enforces it, refuses any other
// body (wrong bytes, wrong length, the checksum header removed or
// changed) leaving nothing stored; invalid digests are refused.
func (s *suite) testPresign(t *testing.T) {
	if _, ok := s.newBackend(t).(storage.Presigner); !ok {
		t.Skip("the backend does not implement the optional storage.Presigner")
	}
	data := Blob(41, 300<<10+7)
	d := content.FromBytes(data)
	n := int64(len(data))

	t.Run("check", func(t *testing.T) {
		err := s.newBackend(t).(storage.Presigner).CheckPresign(t.Context())
		switch {
		case s.opts.PresignEnforced && err != nil:
			t.Fatalf("CheckPresign = %v; the server is declared to enforce presigned checksums", err)
		case !s.opts.PresignEnforced && !errors.Is(err, storage.ErrPresignUnenforced):
			t.Fatalf("CheckPresign = %v; want ErrPresignUnenforced for a server declared not to enforce them", err)
		}
	})
	t.Run("get", func(t *testing.T) {
		b := s.newBackend(t)
		p := b.(storage.Presigner)
		mustPut(t, b, data)
		sr, err := p.PresignGet(t.Context(), d, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if time.Until(sr.Expires) > time.Minute+5*time.Second || time.Until(sr.Expires) < 30*time.Second {
			t.Errorf("Expires = %v; want about a minute from now", sr.Expires)
		}
		if st, got := SendSigned(t, sr, nil, nil); st != http.StatusOK || !bytes.Equal(got, data) {
			t.Fatalf("presigned GET = %d, %d bytes; want 200 and the blob", st, len(got))
		}
		rng := http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", 1000, 70000)}}
		if st, got := SendSigned(t, sr, nil, rng); st != http.StatusPartialContent || !bytes.Equal(got, data[1000:70001]) {
			t.Fatalf("presigned ranged GET = %d, %d bytes; want 206 and bytes 1000-70000", st, len(got))
		}
		missing, err := p.PresignGet(t.Context(), content.FromBytes([]byte("absent")), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := SendSigned(t, missing, nil, nil); st != http.StatusNotFound {
			t.Errorf("presigned GET of a missing blob = %d; want 404", st)
		}
	})
	t.Run("put", func(t *testing.T) {
		b := s.newBackend(t)
		sr, err := b.(storage.Presigner).PresignPut(t.Context(), d, n, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if st, body := SendSigned(t, sr, data, nil); st >= 300 {
			t.Fatalf("presigned PUT = %d %s", st, body)
		}
		if got := mustRead(t, b, d, nil); !bytes.Equal(got, data) {
			t.Fatal("the blob stored through a presigned PUT reads back different")
		}
		wantOnly(t, b, map[content.Digest]int64{d: n})
	})
	t.Run("put refuses other bytes", func(t *testing.T) {
		if !s.opts.PresignEnforced {
			t.Skip("the server is declared not to enforce presigned checksums (Options.PresignEnforced)")
		}
		s.testPresignTamper(t, data)
	})
	t.Run("invalid digest", func(t *testing.T) {
		p := s.newBackend(t).(storage.Presigner)
		if _, err := p.PresignPut(t.Context(), content.Digest{}, 1, time.Minute); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("PresignPut(zero digest) = %v; want ErrInvalidKey", err)
		}
		if _, err := p.PresignGet(t.Context(), content.Digest{}, time.Minute); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("PresignGet(zero digest) = %v; want ErrInvalidKey", err)
		}
	})
}

// testPresignTamper sends a presigned PUT other bodies than it was signed
// for; each must be refused and leave nothing stored.
func (s *suite) testPresignTamper(t *testing.T, data []byte) {
	d := content.FromBytes(data)
	n := int64(len(data))
	other := append([]byte(nil), data...)
	other[n/2] ^= 1
	for _, c := range []struct {
		name   string
		body   []byte
		tamper func(http.Header)
	}{
		{"other bytes", other, nil},
		{"short", data[:n-1], func(h http.Header) { h.Set("Content-Length", fmt.Sprint(n-1)) }},
		{"checksum header removed", other, func(h http.Header) { h.Del("X-Amz-Content-Sha256") }},
		{"checksum header changed", other, func(h http.Header) { h.Set("X-Amz-Content-Sha256", content.FromBytes(other).Hex()) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := s.newBackend(t)
			sr, err := b.(storage.Presigner).PresignPut(t.Context(), d, n, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if c.tamper != nil {
				c.tamper(sr.Header)
			}
			if st, _ := SendSigned(t, sr, c.body, nil); st < 300 {
				t.Fatalf("presigned PUT of a tampered request = %d; want a refusal", st)
			}
			s.wantAbsent(t, b, d)
			wantOnly(t, b, map[content.Digest]int64{})
		})
	}
}
