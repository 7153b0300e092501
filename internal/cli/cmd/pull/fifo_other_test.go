//go:build !unix

package pull

import "testing"

func mkfifo(string) func(*testing.T) {
	return func(t *testing.T) { t.Skip("named pipes need a unix system") }
}
