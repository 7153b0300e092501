package transfer

import (
	"fmt"
	"io/fs"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// readDir lists the directory open as df: names and types as getdents(2)
// gives them. os.File.ReadDir on a directory opened through an os.Root
// stats every entry, one system call per file; the type getdents reports
// is all the walk needs (an entry of unknown type is stat'ed).
func readDir(df *os.File) ([]dirEnt, error) {
	fd := int(df.Fd())
	buf := make([]byte, 32<<10)
	var out []dirEnt
	for {
		n, err := unix.ReadDirent(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "getdents", Path: df.Name(), Err: err}
		}
		if n <= 0 {
			return out, nil
		}
		for b := buf[:n]; len(b) > 0; {
			d := (*unix.Dirent)(unsafe.Pointer(&b[0]))
			rec := int(d.Reclen)
			if rec == 0 || rec > len(b) {
				return nil, fmt.Errorf("getdents %s: malformed record", df.Name())
			}
			nameb := b[unsafe.Offsetof(d.Name):rec]
			for i, c := range nameb {
				if c == 0 {
					nameb = nameb[:i]
					break
				}
			}
			b = b[rec:]
			name := string(nameb)
			if name == "." || name == ".." || d.Ino == 0 {
				continue
			}
			e := dirEnt{name: name}
			switch d.Type {
			case unix.DT_REG:
			case unix.DT_DIR:
				e.typ = fs.ModeDir
			case unix.DT_LNK:
				e.typ = fs.ModeSymlink
			case unix.DT_FIFO:
				e.typ = fs.ModeNamedPipe
			case unix.DT_SOCK:
				e.typ = fs.ModeSocket
			case unix.DT_CHR:
				e.typ = fs.ModeDevice | fs.ModeCharDevice
			case unix.DT_BLK:
				e.typ = fs.ModeDevice
			default: // DT_UNKNOWN: the filesystem does not say
				var st unix.Stat_t
				if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
					return nil, &fs.PathError{Op: "lstat", Path: name, Err: err}
				}
				e.typ = modeType(st.Mode)
			}
			out = append(out, e)
		}
	}
}

// modeType converts a stat mode's file type to fs.FileMode type bits.
func modeType(m uint32) fs.FileMode {
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	}
	return 0
}
