// Package outpath decides how artstore writes to a path a user names as an
// output (pull -o, init's config file, serve's ready file), so every such
// place writes where the user points, as cp and curl -o do:
//
//   - nothing there, or a regular file: a temporary file in the same
//     directory, synced and renamed into place, so the path holds either
//     its old content or the complete new file;
//   - a device, named pipe or socket (/dev/null, /dev/stdout, a FIFO): it
//     is opened and written in place, never replaced, because renaming a
//     file over it would destroy it (a /dev/null turned into a regular
//     file breaks the machine) and the reader of a pipe would never see
//     the bytes; such a write cannot be atomic;
//   - a symbolic link: followed to its final target, which the rules above
//     then apply to; the link itself stays. A dangling link's target is
//     created, as shell redirection and curl -o do.
//
// Resolve tells what is at a path without changing anything, so a command
// can ask for --force before replacing a regular file; WriteFile writes
// small data by these rules; OpenInPlace opens a device or pipe.
package outpath

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Kind is what a path names once symbolic links are followed.
type Kind int

const (
	// Missing: nothing is there; writing creates a regular file.
	Missing Kind = iota
	// Regular: a regular file, replaced by a temporary file renamed over it.
	Regular
	// Directory: a directory.
	Directory
	// Special: a character or block device, named pipe or socket, opened
	// and written in place.
	Special
)

func (k Kind) String() string {
	switch k {
	case Missing:
		return "missing"
	case Regular:
		return "regular file"
	case Directory:
		return "directory"
	default:
		return "special file"
	}
}

// maxLinks bounds a chain of symbolic links, as the kernel does (ELOOP).
const maxLinks = 40

// ErrSocket: the target is a socket, which cannot be opened as a file.
var ErrSocket = errors.New("is a socket, which cannot be opened as a file")

// Target is what Resolve found at a path.
type Target struct {
	// Given is the path as given.
	Given string
	// Path is where the bytes go: Given itself, or, when Given is a
	// symbolic link to a regular file, a directory or nothing, the final
	// target of the chain of links (a temporary file is created and renamed
	// in its directory). For a device or pipe reached through a link, Path
	// is Given: opening it follows the link, including the kernel's own
	// links such as /dev/stdout -> /proc/self/fd/1 -> pipe:[...], which
	// name no file.
	Path string
	// Kind is what Path names.
	Kind Kind
	// Mode is the type and permission bits of what is there (0 if Missing).
	Mode fs.FileMode
	// Link reports that Given is a symbolic link.
	Link bool
	// Descriptor reports that Given leads to a link in /proc/PID/fd (as
	// /dev/stdout and /dev/fd/N do): it names a file this process already
	// has open, whatever its kind, so it is written in place, through
	// Given, as cp does (a regular file is truncated first).
	Descriptor bool
}

// Exists reports whether a write would replace a regular file or go into
// a directory: what a command asks --force for.
func (t Target) Exists() bool { return !t.Descriptor && (t.Kind == Regular || t.Kind == Directory) }

// InPlace reports whether the target is written in place (a device, pipe,
// socket or open descriptor) rather than through a temporary file and a
// rename.
func (t Target) InPlace() bool {
	return t.Kind == Special || (t.Descriptor && t.Kind != Directory)
}

// Describe names the target for a message: "out.bin", or "link.txt (a
// link to /data/out.bin)".
func (t Target) Describe() string {
	if t.Link && t.Path != t.Given {
		return fmt.Sprintf("%s (a link to %s)", t.Given, t.Path)
	}
	return t.Given
}

// Resolve tells what is at path, following symbolic links. It changes
// nothing.
func Resolve(path string) (Target, error) {
	t := Target{Given: path, Path: path}
	li, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return t, err
	}
	if li.Mode()&fs.ModeSymlink == 0 {
		t.Kind, t.Mode = kindOf(li.Mode()), li.Mode()
		return t, nil
	}
	t.Link = true
	final, descriptor, err := follow(path)
	if err != nil {
		return t, err
	}
	if descriptor {
		fi, err := os.Stat(path)
		if err != nil {
			return t, err
		}
		t.Kind, t.Mode, t.Descriptor = kindOf(fi.Mode()), fi.Mode(), true
		return t, nil
	}
	fi, err := os.Lstat(final)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		t.Path = final // dangling: the target is created
		return t, nil
	case err != nil:
		return t, err
	}
	t.Kind, t.Mode = kindOf(fi.Mode()), fi.Mode()
	if t.Kind != Special {
		t.Path = final
	}
	return t, nil
}

func kindOf(m fs.FileMode) Kind {
	switch {
	case m.IsRegular():
		return Regular
	case m.IsDir():
		return Directory
	default:
		return Special
	}
}

// follow follows the chain of symbolic links at path to the first name
// that is not a link or does not exist, resolving each link relative to the
// real directory it is in, as the kernel does (so ".." in a link's text is
// the parent of where the directory part really is, not a lexical step
// back). It stops early, with descriptor set, at a link in a /proc/PID/fd
// directory (where /dev/stdout and /dev/fd/N lead): such a link names an
// open file (a pipe, a terminal, the file the shell redirected to), not a
// place, and only opening it reaches that file.
func follow(path string) (final string, descriptor bool, err error) {
	p := path
	for range maxLinks {
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return p, false, nil
		}
		if err != nil {
			return "", false, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return p, false, nil
		}
		dir, err := filepath.EvalSymlinks(filepath.Dir(p))
		if err != nil {
			return "", false, fmt.Errorf("follow the link %s: %w", p, err)
		}
		if strings.HasPrefix(dir, "/proc/") && filepath.Base(dir) == "fd" {
			return p, true, nil
		}
		to, err := os.Readlink(p)
		if err != nil {
			return "", false, err
		}
		if !filepath.IsAbs(to) {
			to = dir + string(filepath.Separator) + to
		}
		i := strings.LastIndexByte(to, filepath.Separator)
		// EvalSymlinks applies ".." after resolving what precedes it;
		// filepath.Join would drop a linked directory lexically.
		d, err := filepath.EvalSymlinks(to[:max(i, 1)])
		if err != nil {
			return "", false, fmt.Errorf("follow the link %s: %w", p, err)
		}
		p = filepath.Join(d, to[i+1:])
	}
	return "", false, &fs.PathError{Op: "follow links", Path: path, Err: syscall.ELOOP}
}

// OpenInPlace opens t.Given for writing in place, without creating
// anything, for a target that t.InPlace(): a device or pipe as it is, an
// open descriptor's regular file truncated. Opening a named
// pipe waits for a reader, as shell redirection does; ctx ends the wait. A
// socket fails with ErrSocket. If, when opened, the path is not a device
// or pipe (it was replaced meanwhile), the open fails rather than
// write into a regular file without the temporary file.
func OpenInPlace(ctx context.Context, t Target) (*os.File, error) {
	if t.Mode&fs.ModeSocket != 0 {
		return nil, fmt.Errorf("%s %w; send the bytes with another tool, for example -o - | socat - UNIX-CONNECT:%s", t.Given, ErrSocket, t.Given)
	}
	type opened struct {
		f   *os.File
		err error
	}
	ch := make(chan opened, 1)
	flags := os.O_WRONLY
	if t.Kind == Regular { // an open descriptor's file, as cp writes it
		flags |= os.O_TRUNC
	}
	go func() {
		f, err := os.OpenFile(t.Given, flags, 0)
		ch <- opened{f, err}
	}()
	var o opened
	select {
	case o = <-ch:
	case <-ctx.Done():
		// An open of a named pipe waits for a reader: be that reader for
		// a moment so it returns, then close both.
		if r, err := os.OpenFile(t.Given, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			defer r.Close()
		}
		go func() {
			if o := <-ch; o.f != nil {
				o.f.Close()
			}
		}()
		return nil, ctx.Err()
	}
	if o.err != nil {
		return nil, o.err
	}
	fi, err := o.f.Stat()
	if err == nil && kindOf(fi.Mode()) != Special && !(t.Descriptor && fi.Mode().IsRegular()) {
		err = fmt.Errorf("%s changed while being opened: it is now a %s", t.Given, kindOf(fi.Mode()))
	}
	if err != nil {
		o.f.Close()
		return nil, err
	}
	return o.f, nil
}

// WriteFile writes data to path by the package's rules: a device or pipe
// in place; otherwise a temporary file with mode perm in the directory of
// the final target, synced and renamed over it (a symbolic link at path
// stays a link). A directory at path is an error.
func WriteFile(ctx context.Context, path string, data []byte, perm fs.FileMode) error {
	t, err := Resolve(path)
	if err != nil {
		return err
	}
	switch {
	case t.Kind == Directory:
		return fmt.Errorf("%s is a directory", t.Describe())
	case t.InPlace():
		f, err := OpenInPlace(ctx, t)
		if err != nil {
			return err
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	dir := filepath.Dir(t.Path)
	f, err := os.CreateTemp(dir, ".artstore-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, t.Path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(dir)
}

// SyncDir makes a rename in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
