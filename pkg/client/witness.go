package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/artifact-store/artstore/internal/tlog"
)

// A remote-mode client remembers the last checkpoint each daemon showed it,
// as Go's checksum-database client does, and checks on each contact that
// the daemon's log today extends it: a daemon whose log was rolled back,
// rewritten or forked (or that signs with another key) cannot show it a
// history that contradicts what it saw before without being caught.

// stateHeader is the first line of a checkpoint state file.
const stateHeader = "artstore checkpoint state v1"

// maxStateSize bounds the state files ParseCheckpointState accepts.
const maxStateSize = tlog.MaxCheckpointSize + 4096

// ErrMalformedState: a checkpoint state file is not well formed.
var ErrMalformedState = errors.New("malformed checkpoint state file")

// CheckpointState is what remote mode remembers of one daemon's log: its
// URL, the public key it signs with (trusted on first contact) and the
// last signed checkpoint it showed.
type CheckpointState struct {
	URL         string
	VerifierKey string
	Checkpoint  []byte
}

// Marshal encodes s as a state file:
//
//	artstore checkpoint state v1
//	url URL
//	key VERIFIER-KEY
//	<blank line>
//	SIGNED CHECKPOINT (a C2SP signed note)
func (s CheckpointState) Marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nurl %s\nkey %s\n\n", stateHeader, s.URL, s.VerifierKey)
	b.Write(s.Checkpoint)
	return b.Bytes()
}

// ParseCheckpointState decodes a state file, strictly, and checks that its
// checkpoint is signed by its key. Errors match ErrMalformedState.
func ParseCheckpointState(b []byte) (CheckpointState, error) {
	if len(b) > maxStateSize {
		return CheckpointState{}, fmt.Errorf("%w: %d bytes is longer than %d", ErrMalformedState, len(b), maxStateSize)
	}
	head, note, ok := bytes.Cut(b, []byte("\n\n"))
	if !ok {
		return CheckpointState{}, fmt.Errorf("%w: no blank line before the checkpoint", ErrMalformedState)
	}
	lines := strings.Split(string(head), "\n")
	if len(lines) != 3 || lines[0] != stateHeader {
		return CheckpointState{}, fmt.Errorf("%w: want the lines %q, url and key", ErrMalformedState, stateHeader)
	}
	u, okU := strings.CutPrefix(lines[1], "url ")
	k, okK := strings.CutPrefix(lines[2], "key ")
	if !okU || !okK || u == "" || k == "" {
		return CheckpointState{}, fmt.Errorf("%w: want the lines %q, url and key", ErrMalformedState, stateHeader)
	}
	if _, err := tlog.OpenCheckpoint(note, k); err != nil {
		return CheckpointState{}, fmt.Errorf("%w: %w", ErrMalformedState, err)
	}
	return CheckpointState{URL: u, VerifierKey: k, Checkpoint: note}, nil
}

// StatePath returns the file under dir that holds the state of the daemon
// at url: checkpoints/ and the first 32 hex digits of the URL's SHA-256
// (the URL itself is inside).
func StatePath(dir, url string) string {
	sum := sha256.Sum256([]byte(url))
	return filepath.Join(dir, "checkpoints", hex.EncodeToString(sum[:16]))
}

// LoadCheckpointState reads the state of the daemon at url from dir; a
// missing file is (nil, nil).
func LoadCheckpointState(dir, url string) (*CheckpointState, error) {
	path := StatePath(dir, url)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint state: %w", err)
	}
	s, err := ParseCheckpointState(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if s.URL != url {
		return nil, fmt.Errorf("%s: %w: it is for %s, not %s", path, ErrMalformedState, s.URL, url)
	}
	return &s, nil
}

// SaveCheckpointState writes s under dir atomically: a temporary file in
// the same directory, synced, then renamed over the old state.
func SaveCheckpointState(dir string, s CheckpointState) (err error) {
	path := StatePath(dir, s.URL)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save checkpoint state: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".state-*")
	if err != nil {
		return fmt.Errorf("save checkpoint state: %w", err)
	}
	defer func() {
		f.Close()
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(s.Marshal()); err != nil {
		return fmt.Errorf("save checkpoint state: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("save checkpoint state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save checkpoint state: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("save checkpoint state: %w", err)
	}
	return nil
}

// WitnessResult is the outcome of WitnessCheckpoint.
type WitnessResult struct {
	// First: nothing was remembered of this daemon; its key and
	// checkpoint are now (trust on first use).
	First bool
	// Report compares the daemon's log today with the remembered
	// checkpoint (nil when First).
	Report *CheckpointReport
	// StateFile is the file that holds what is remembered.
	StateFile string
}

// WitnessCheckpoint checks that the log of the daemon st (at url) extends
// the checkpoint remembered under dir from the last contact, and
// remembers the daemon's current checkpoint when it does. On first
// contact it remembers the daemon's key and checkpoint. A log that does
// not extend the remembered one (Report.OK false) leaves the state as it
// was, so every later contact reports it too until the state file is
// removed. Errors are a daemon that cannot be asked or a state that
// cannot be read or written.
func WitnessCheckpoint(ctx context.Context, st Store, url, dir string) (*WitnessResult, error) {
	res := &WitnessResult{StateFile: StatePath(dir, url)}
	saved, err := LoadCheckpointState(dir, url)
	if err != nil {
		return nil, err
	}
	if saved == nil {
		k, err := st.LogKey(ctx)
		if err != nil {
			return nil, err
		}
		cur, err := st.Checkpoint(ctx)
		if err != nil {
			return nil, err
		}
		if _, err := tlog.OpenCheckpoint([]byte(cur.Signed), k.VerifierKey); err != nil {
			return nil, fmt.Errorf("the daemon's checkpoint does not verify with its own key: %w", mapErr(err))
		}
		res.First = true
		return res, SaveCheckpointState(dir, CheckpointState{URL: url, VerifierKey: k.VerifierKey, Checkpoint: []byte(cur.Signed)})
	}
	cur, err := st.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	rep, err := checkWith(ctx, st, saved.Checkpoint, saved.VerifierKey, cur)
	if err != nil {
		return nil, err
	}
	res.Report = rep
	if !rep.OK || rep.Size == rep.SavedSize {
		return res, nil
	}
	return res, SaveCheckpointState(dir, CheckpointState{URL: url, VerifierKey: saved.VerifierKey, Checkpoint: []byte(cur.Signed)})
}
