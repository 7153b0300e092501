//go:build unix

package pull

import (
	"syscall"
	"testing"
)

func mkfifo(name string) func(*testing.T) {
	return func(t *testing.T) {
		if err := syscall.Mkfifo(name, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
