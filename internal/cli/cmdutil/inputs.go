package cmdutil

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/artifact-store/artstore/pkg/client"
)

// maxKeyFile bounds a --key-file: a note verifier key is under 200 bytes.
const maxKeyFile = 4096

// ReadKeyFlag returns the verifier key of a --key KEY / --key-file FILE
// pair of flags (at most one of them set): the key itself, the trimmed
// contents of FILE, or "" for neither.
func ReadKeyFlag(key, keyFile string) (string, error) {
	if keyFile == "" {
		return strings.TrimSpace(key), nil
	}
	f, err := os.Open(keyFile)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", Mark(fmt.Errorf("--key-file: %w", err), client.ErrNotFound)
		}
		return "", fmt.Errorf("--key-file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return "", fmt.Errorf("--key-file: %w", err)
	}
	if len(b) > maxKeyFile {
		return "", FlagErrorf("--key-file %s is longer than a key (%d bytes)", keyFile, maxKeyFile)
	}
	return strings.TrimSpace(string(b)), nil
}

// OpenInput opens the file argument name of command cmd for reading, or
// returns stdin for "-". A missing file is ErrNotFound (exit 3). what is
// how messages name the input ("standard input" or the file name); the
// caller calls done when finished.
func OpenInput(cmd, name string, stdin io.Reader) (r io.Reader, what string, done func(), err error) {
	if name == "-" {
		return stdin, "standard input", func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, "", nil, Mark(fmt.Errorf("%s: %w", cmd, err), client.ErrNotFound)
		}
		return nil, "", nil, fmt.Errorf("%s: %w", cmd, err)
	}
	return f, name, func() { f.Close() }, nil
}
