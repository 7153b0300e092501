package tui

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

func TestRunRefusesWithoutTerminal(t *testing.T) {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	tests := []struct {
		name string
		opts Options
	}{
		{"buffer output", Options{In: strings.NewReader(""), Out: &bytes.Buffer{}}},
		{"file output that is not a terminal", Options{In: strings.NewReader(""), Out: devnull}},
		{"file input that is not a terminal", Options{In: devnull, Out: &bytes.Buffer{}, IsTerminal: func(io.Writer) bool { return true }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := seedStore(0)
			err := Run(context.Background(), store, tt.opts)
			if !errors.Is(err, ErrNotTerminal) {
				t.Fatalf("Run = %v, want ErrNotTerminal", err)
			}
			for _, hint := range []string{"artstore ls", "artstore lineage REF --json"} {
				if !strings.Contains(err.Error(), hint) {
					t.Errorf("error %q does not suggest %q", err, hint)
				}
			}
			if b, ok := tt.opts.Out.(*bytes.Buffer); ok && b.Len() > 0 {
				t.Errorf("Run drew %d bytes before refusing", b.Len())
			}
			if len(store.listCalls) > 0 {
				t.Errorf("Run queried the store before refusing")
			}
		})
	}
}

// TestRunQuitsOnQ runs the real bubbletea program over a byte stream that
// presses q.
func TestRunQuitsOnQ(t *testing.T) {
	store := seedStore(5)
	var out bytes.Buffer
	err := Run(context.Background(), store, Options{
		In:         strings.NewReader("q"),
		Out:        &out,
		NoColor:    true,
		IsTerminal: func(io.Writer) bool { return true },
	})
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	if !strings.Contains(out.String(), "artstore") {
		t.Errorf("nothing drawn: %q", out.String())
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, w := io.Pipe() // input that never ends
	defer w.Close()
	err := Run(ctx, seedStore(0), Options{
		In:         r,
		Out:        io.Discard,
		IsTerminal: func(io.Writer) bool { return true },
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a cancelled context = %v, want context.Canceled", err)
	}
}
