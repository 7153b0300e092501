//go:build linux

package local_test

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/local"
	"github.com/artifact-store/artstore/internal/storage/storagetest"
)

// reclaimAll asks be to remove every temporary file, however fresh (as
// `gc --grace 0s` does), and first to count them (as verify does); it
// returns what the removal reported.
func reclaimAll(t *testing.T, be *local.Backend) storage.TempFiles {
	t.Helper()
	future := time.Now().Add(time.Hour)
	if sum, err := be.Temp(t.Context(), future, false); err != nil || sum.Files != 0 {
		t.Errorf("%s: Temp(count) = %+v, %v; want no file counted", be.ID(), sum, err)
	}
	sum, err := be.Temp(t.Context(), future, true)
	if err != nil {
		t.Errorf("%s: Temp(remove) = %v", be.ID(), err)
	}
	return sum
}

// TestTempSparesUploadsInProgress removes temporary files with no grace at
// all, through the writing backend and through another one on the same
// directory (another process's gc), while a Put is half-way through its
// stream and while a staged blob waits for its Commit. Neither upload may
// lose its file: both complete and store the blob.
func TestTempSparesUploadsInProgress(t *testing.T) {
	b := newLocal(t)
	other, err := local.New("other", b.Root())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Put", func(t *testing.T) {
		data := storagetest.Blob(41, 3<<20+17)
		d := content.FromBytes(data)
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			_, err := b.Put(t.Context(), d, int64(len(data)), pr)
			done <- err
		}()
		// The pipe hands these bytes over only once Put reads them, that
		// is once its temporary file exists.
		if _, err := pw.Write(data[:1<<20]); err != nil {
			t.Fatal(err)
		}
		if n := len(tempFiles(t, b)); n != 1 {
			t.Fatalf("%d temporary files while one Put is in progress, want 1", n)
		}
		for _, be := range []*local.Backend{b, other} {
			if sum := reclaimAll(t, be); sum.Files != 0 {
				t.Errorf("%s: Temp removed %d files of an upload in progress", be.ID(), sum.Files)
			}
		}
		if _, err := pw.Write(data[1<<20:]); err != nil {
			t.Fatal(err)
		}
		pw.Close()
		if err := <-done; err != nil {
			t.Fatalf("Put after a reclaim of temporary files: %v", err)
		}
		if got := readBlob(t, b, d); !bytes.Equal(got, data) {
			t.Error("the blob read back differs")
		}
	})

	t.Run("Stage", func(t *testing.T) {
		data := storagetest.Blob(42, 300<<10)
		d := content.FromBytes(data)
		st := b.NewStage()
		if _, err := st.PutVerified(t.Context(), d, int64(len(data)), bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		for _, be := range []*local.Backend{b, other} {
			if sum := reclaimAll(t, be); sum.Files != 0 {
				t.Errorf("%s: Temp removed %d staged files", be.ID(), sum.Files)
			}
		}
		if err := st.Commit(t.Context()); err != nil {
			t.Fatalf("Commit after a reclaim of temporary files: %v", err)
		}
		if got := readBlob(t, b, d); !bytes.Equal(got, data) {
			t.Error("the blob read back differs")
		}
	})
	if names := tempFiles(t, b); len(names) != 0 {
		t.Errorf("temporary files left after the uploads: %v", names)
	}
}

func readBlob(t *testing.T, b *local.Backend, d content.Digest) []byte {
	t.Helper()
	rc, err := b.Get(t.Context(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestTempOfAKilledWriter: another process is half-way through a Put when
// the temporary files are reclaimed with no grace; its file stays. Once
// that process is killed (-9, no cleanup of its own), the same reclaim
// removes the file. The test re-executes its own binary.
func TestTempOfAKilledWriter(t *testing.T) {
	if root := os.Getenv(childRootEnv); root != "" {
		b, err := local.New("child", root)
		if err != nil {
			t.Fatal(err)
		}
		// Standard input never ends: the Put waits for the rest of its
		// bytes until the parent kills this process.
		data := storagetest.Blob(43, 1<<20)
		_, err = b.Put(t.Context(), content.FromBytes(data), int64(len(data)), os.Stdin)
		t.Fatalf("Put returned (%v) while its stream was still open", err)
	}

	b := newLocal(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestTempOfAKilledWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), childRootEnv+"="+b.Root())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// Once the child has read these, its temporary file exists.
	if _, err := stdin.Write(storagetest.Blob(43, 1<<20)[:512<<10]); err != nil {
		t.Fatalf("writing to the child: %v\n%s", err, out.String())
	}
	deadline := time.Now().Add(time.Minute)
	for len(tempFiles(t, b)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the child made no temporary file\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if sum := reclaimAll(t, b); sum.Files != 0 {
		t.Fatalf("Temp removed %d files of a live process's upload", sum.Files)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	sum, err := b.Temp(t.Context(), time.Now().Add(time.Hour), true)
	if err != nil || sum.Files != 1 {
		t.Fatalf("Temp after the writer was killed = %+v, %v; want its one file removed", sum, err)
	}
	if names := tempFiles(t, b); len(names) != 0 {
		t.Errorf("left after the reclaim: %v", names)
	}
}
