//go:build unix

package testscript_test

import (
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"
)

// fileCommands make and check the kinds of file a pull may be pointed at.
func fileCommands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"mknod-null": cmdMknodNull,
		"mkfifo":     cmdMkfifo,
		"filetype":   cmdFiletype,
	}
}

// canMknod reports whether this process may create device nodes (the
// [mknod] condition): as root, yes. Scripts guard mknod-null with
// [!mknod] skip, which says why.
func canMknod() bool {
	dir, err := os.MkdirTemp("", "artstore-mknod-")
	if err != nil {
		return false
	}
	defer os.RemoveAll(dir)
	return unix.Mknod(filepath.Join(dir, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))) == nil
}

// mknod-null NAME: create a character device node 1,3 (what /dev/null is)
// at NAME, so a script can point a command at a device without touching
// the system's. Guard it with [!mknod] skip.
func cmdMknodNull(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: mknod-null NAME")
	}
	ts.Check(unix.Mknod(ts.MkAbs(args[0]), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
}

// mkfifo NAME: create a named pipe at NAME.
func cmdMkfifo(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: mkfifo NAME")
	}
	ts.Check(unix.Mkfifo(ts.MkAbs(args[0]), 0o600))
}

// filetype NAME TYPE: check that NAME itself (not what a link points to)
// is of TYPE: file, dir, symlink, fifo, socket, or null (the character
// device 1,3, as mknod-null makes it). With !, that it is not.
func cmdFiletype(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: filetype NAME file|dir|symlink|fifo|socket|null")
	}
	fi, err := os.Lstat(ts.MkAbs(args[0]))
	ts.Check(err)
	var got string
	switch m := fi.Mode(); {
	case m.IsRegular():
		got = "file"
	case m.IsDir():
		got = "dir"
	case m&fs.ModeSymlink != 0:
		got = "symlink"
	case m&fs.ModeNamedPipe != 0:
		got = "fifo"
	case m&fs.ModeSocket != 0:
		got = "socket"
	case m&fs.ModeCharDevice != 0:
		var st unix.Stat_t
		ts.Check(unix.Lstat(ts.MkAbs(args[0]), &st))
		got = "chardev"
		if unix.Major(uint64(st.Rdev)) == 1 && unix.Minor(uint64(st.Rdev)) == 3 {
			got = "null"
		}
	default:
		got = fi.Mode().Type().String()
	}
	switch want := args[1]; {
	case neg && got == want:
		ts.Fatalf("%s is a %s", args[0], got)
	case !neg && got != want:
		ts.Fatalf("%s is a %s, not a %s", args[0], got, want)
	}
}
