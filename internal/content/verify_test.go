package content_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/artifact-store/artstore/internal/content"
)

// endless yields the same byte forever and counts how much was read.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	e.n += int64(len(p))
	return len(p), nil
}

func TestVerifyingReader(t *testing.T) {
	data := bytes.Repeat([]byte("artstore"), 1000) // 8000 bytes
	d := content.FromBytes(data)
	other := append(append([]byte(nil), data[:len(data)-1]...), '!')
	boom := errors.New("disk on fire")

	tests := []struct {
		name     string
		r        io.Reader
		size     int64
		wantErr  error  // nil: clean read
		wantMsg  string // substring of the error
		wantSize int64  // MismatchError.ActualSize when a mismatch is expected
		actual   bool   // MismatchError.Actual is set (digest differed, size did not)
	}{
		{name: "exact", r: bytes.NewReader(data), size: int64(len(data))},
		{name: "size unknown", r: bytes.NewReader(data), size: -1},
		{name: "one byte at a time", r: iotest.OneByteReader(bytes.NewReader(data)), size: int64(len(data))},
		{name: "data with EOF", r: iotest.DataErrReader(bytes.NewReader(data)), size: int64(len(data))},
		{name: "half reads", r: iotest.HalfReader(bytes.NewReader(data)), size: int64(len(data))},
		{name: "wrong bytes", r: bytes.NewReader(other), size: int64(len(other)),
			wantErr: content.ErrMismatch, wantMsg: "bytes hash to " + content.FromBytes(other).String(), wantSize: int64(len(data)), actual: true},
		{name: "wrong bytes, size unknown", r: bytes.NewReader(other), size: -1,
			wantErr: content.ErrMismatch, wantMsg: "bytes hash to", wantSize: int64(len(data)), actual: true},
		{name: "short stream", r: bytes.NewReader(data[:100]), size: int64(len(data)),
			wantErr: content.ErrMismatch, wantMsg: "expected 8000 bytes, got 100", wantSize: 100},
		{name: "short stream, size unknown", r: bytes.NewReader(data[:100]), size: -1,
			wantErr: content.ErrMismatch, wantMsg: "bytes hash to", wantSize: 100, actual: true},
		{name: "empty stream", r: strings.NewReader(""), size: int64(len(data)),
			wantErr: content.ErrMismatch, wantMsg: "expected 8000 bytes, got 0", wantSize: 0},
		{name: "long stream", r: io.MultiReader(bytes.NewReader(data), strings.NewReader("+")), size: int64(len(data)),
			wantErr: content.ErrMismatch, wantMsg: "expected 8000 bytes, got 8001", wantSize: 8001},
		{name: "right bytes, declared size too small", r: bytes.NewReader(data), size: 10,
			wantErr: content.ErrMismatch, wantMsg: "expected 10 bytes"},
		{name: "reader error", r: io.MultiReader(bytes.NewReader(data[:10]), iotest.ErrReader(boom)), size: int64(len(data)),
			wantErr: boom, wantMsg: "disk on fire"},
		{name: "reader timeout", r: iotest.TimeoutReader(bytes.NewReader(data)), size: int64(len(data)),
			wantErr: iotest.ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vr := content.NewVerifyingReader(tt.r, d, tt.size)
			if vr.Verified() {
				t.Fatal("Verified() before reading")
			}
			got, err := io.ReadAll(vr)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("ReadAll: %v", err)
				}
				if !bytes.Equal(got, data) || !vr.Verified() || vr.BytesRead() != int64(len(data)) {
					t.Fatalf("read %d bytes, Verified=%v, BytesRead=%d", len(got), vr.Verified(), vr.BytesRead())
				}
				// Further reads keep reporting a clean EOF.
				if n, err := vr.Read(make([]byte, 10)); n != 0 || err != io.EOF {
					t.Errorf("Read after EOF = %d, %v", n, err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ReadAll error = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
			if vr.Verified() {
				t.Error("Verified() after a failure")
			}
			// The error is sticky.
			if n, err2 := vr.Read(make([]byte, 10)); n != 0 || err2 != err {
				t.Errorf("Read after failure = %d, %v; want 0, %v", n, err2, err)
			}
			if tt.wantErr != content.ErrMismatch {
				if errors.Is(err, content.ErrMismatch) {
					t.Errorf("reader error %v reported as a mismatch", err)
				}
				return
			}
			var me *content.MismatchError
			if !errors.As(err, &me) {
				t.Fatalf("error %T is not a *MismatchError", err)
			}
			if me.Expected != d || me.ExpectedSize != tt.size {
				t.Errorf("MismatchError expected %v/%d, want %v/%d", me.Expected, me.ExpectedSize, d, tt.size)
			}
			if tt.wantSize != 0 && me.ActualSize != tt.wantSize {
				t.Errorf("ActualSize = %d, want %d", me.ActualSize, tt.wantSize)
			}
			if me.Actual.IsZero() == tt.actual {
				t.Errorf("Actual = %v; want set: %v", me.Actual, tt.actual)
			}
		})
	}
}

func TestVerifyingReaderStopsEarlyOnLongStream(t *testing.T) {
	src := &endless{}
	vr := content.NewVerifyingReader(src, content.FromBytes([]byte("abc")), 3)
	_, err := io.Copy(io.Discard, vr)
	if !errors.Is(err, content.ErrMismatch) {
		t.Fatalf("Copy = %v, want mismatch", err)
	}
	// io.Copy reads 32 KiB at a time: the reader must fail on the first read
	// that passes the declared size, not keep consuming an endless stream.
	if src.n > 64<<10 {
		t.Errorf("read %d bytes of an endless stream before failing", src.n)
	}
}

func TestVerifyingReaderZeroDigest(t *testing.T) {
	src := strings.NewReader("abc")
	vr := content.NewVerifyingReader(src, content.Digest{}, 3)
	n, err := vr.Read(make([]byte, 10))
	if n != 0 || !errors.Is(err, content.ErrInvalidDigest) {
		t.Fatalf("Read = %d, %v; want 0, ErrInvalidDigest", n, err)
	}
	if vr.Verified() || src.Len() != 3 {
		t.Errorf("Verified=%v, source consumed %d bytes; want unverified and untouched", vr.Verified(), 3-src.Len())
	}
}

func TestMismatchErrorMessages(t *testing.T) {
	d := content.FromBytes([]byte("a"))
	o := content.FromBytes([]byte("b"))
	tests := []struct {
		err  *content.MismatchError
		want string
	}{
		{&content.MismatchError{Expected: d, ExpectedSize: 5, ActualSize: 4}, "content for " + d.String() + ": expected 5 bytes, got 4"},
		{&content.MismatchError{Expected: d, Actual: o, ExpectedSize: 1, ActualSize: 1}, "content for " + d.String() + ": bytes hash to " + o.String()},
		{&content.MismatchError{Expected: d, Actual: o, ExpectedSize: -1, ActualSize: 7}, "content for " + d.String() + ": bytes hash to " + o.String()},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if !errors.Is(tt.err, content.ErrMismatch) {
			t.Errorf("%v does not match ErrMismatch", tt.err)
		}
	}
}

func TestSizeReader(t *testing.T) {
	data := []byte("hello, world")
	d := content.FromBytes(data)
	boom := errors.New("boom")
	for _, c := range []struct {
		name     string
		r        io.Reader
		size     int64
		mismatch bool
		target   error
	}{
		{"exact", bytes.NewReader(data), 12, false, nil},
		{"exact, one byte a read", iotest.OneByteReader(bytes.NewReader(data)), 12, false, nil},
		{"other bytes of the right size", strings.NewReader("HELLO, WORLD"), 12, false, nil},
		{"short", bytes.NewReader(data[:11]), 12, true, nil},
		{"long", bytes.NewReader(data), 11, true, nil},
		{"empty", bytes.NewReader(nil), 12, true, nil},
		{"reader fails", iotest.ErrReader(boom), 12, false, boom},
	} {
		t.Run(c.name, func(t *testing.T) {
			sr := content.NewSizeReader(c.r, d, c.size)
			got, err := io.ReadAll(sr)
			switch {
			case c.mismatch:
				if !errors.Is(err, content.ErrMismatch) || sr.Verified() {
					t.Fatalf("ReadAll = %v, Verified %v; want ErrMismatch, not verified", err, sr.Verified())
				}
			case c.target != nil:
				if !errors.Is(err, c.target) || sr.Verified() {
					t.Fatalf("ReadAll = %v; want %v", err, c.target)
				}
			default:
				if err != nil || !sr.Verified() || int64(len(got)) != c.size || sr.BytesRead() != c.size {
					t.Fatalf("ReadAll = %d bytes, %v, Verified %v, BytesRead %d", len(got), err, sr.Verified(), sr.BytesRead())
				}
			}
			if _, err2 := sr.Read(make([]byte, 1)); c.mismatch && !errors.Is(err2, content.ErrMismatch) {
				t.Errorf("a read after the failure = %v; the failure must stick", err2)
			}
		})
	}
	// A stream far longer than expected is stopped right after the limit.
	sr := content.NewSizeReader(&endless{}, d, 100)
	if _, err := io.ReadAll(sr); !errors.Is(err, content.ErrMismatch) || sr.BytesRead() != 101 {
		t.Fatalf("endless stream: %v after %d bytes; want ErrMismatch after 101", err, sr.BytesRead())
	}
}
