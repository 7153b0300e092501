//go:build !linux

package local

import (
	"os"
	"time"
)

// dirCache: directory handles are cached on Linux only; elsewhere every
// operation walks its path through the os.Root. A nil *dirCache answers
// every call with "not done here".
type dirCache struct{}

func newDirCache(string) *dirCache { return nil }

func (c *dirCache) use(*os.Root) *dirCache                          { return nil }
func (c *dirCache) close()                                          {}
func (c *dirCache) forget(string)                                   {}
func (c *dirCache) touch(string, int64) (exists, ok bool)           { return false, false }
func (c *dirCache) createTemp(string) (*os.File, error)             { return nil, nil }
func (c *dirCache) chtimes(string, time.Time) bool                  { return false }
func (c *dirCache) syncFile(string) (ok bool, err error)            { return false, nil }
func (c *dirCache) syncDir(string) (ok bool, err error)             { return false, nil }
func (c *dirCache) publish(string, string) (dirs []string, ok bool) { return nil, false }
