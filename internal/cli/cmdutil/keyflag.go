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
