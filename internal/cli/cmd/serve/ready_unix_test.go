//go:build unix

package serve

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/cli/iostreams"
)

// TestServeReadyFileKinds: --ready-file writes where it points. A named
// pipe (`mkfifo r; artstore serve --ready-file r & read url < r`) gets the
// URL and stays a pipe; a symbolic link is written through and stays a
// link.
func TestServeReadyFileKinds(t *testing.T) {
	for _, kind := range []string{"fifo", "link"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			ready := filepath.Join(dir, "ready")
			target := filepath.Join(dir, "target")
			got := make(chan string, 1)
			switch kind {
			case "fifo":
				if err := syscall.Mkfifo(ready, 0o600); err != nil {
					t.Fatal(err)
				}
				// A second name, to release the reader if serve replaces the pipe.
				keep := filepath.Join(t.TempDir(), "keep")
				if err := os.Link(ready, keep); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					if w, err := os.OpenFile(keep, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
						w.Close()
					}
				})
				go func() {
					f, err := os.Open(ready)
					if err != nil {
						got <- err.Error()
						return
					}
					defer f.Close()
					b, _ := io.ReadAll(f)
					got <- string(b)
				}()
			case "link":
				if err := os.Symlink("target", ready); err != nil {
					t.Fatal(err)
				}
			}
			ios, _, _, _ := iostreams.Test()
			opts := &Options{IO: ios, Config: testConfig(dir), LookupEnv: func(string) (string, bool) { return "", false },
				Listen: "127.0.0.1:0", ReadyFile: ready, MaxBody: "1MiB", LogFormat: "json", Drain: 5 * time.Second}
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- serveRun(ctx, opts) }()
			defer func() {
				cancel()
				if err := <-errc; err != nil {
					t.Errorf("serve: %v", err)
				}
			}()

			var url string
			if kind == "fifo" {
				timeout := time.After(30 * time.Second)
				for url == "" {
					select {
					case url = <-got:
					case err := <-errc:
						errc <- err
						t.Fatalf("serve returned before it was ready: %v", err)
					case <-timeout:
						t.Fatal("the reader of the pipe got nothing")
					case <-time.After(10 * time.Millisecond):
						if fi, err := os.Lstat(ready); err == nil && fi.Mode()&os.ModeNamedPipe == 0 {
							t.Fatalf("the ready pipe was replaced by a %v", fi.Mode())
						}
					}
				}
			} else {
				url = waitFile(t, target, errc)
			}
			if !strings.HasPrefix(strings.TrimSpace(url), "http://127.0.0.1:") {
				t.Fatalf("the ready %s got %q", kind, url)
			}
			fi, err := os.Lstat(ready)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[string]os.FileMode{"fifo": os.ModeNamedPipe, "link": os.ModeSymlink}[kind]; fi.Mode()&want == 0 {
				t.Fatalf("the ready %s is now a %v", kind, fi.Mode())
			}
		})
	}
}
