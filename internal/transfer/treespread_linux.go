package transfer

import (
	"os"

	"golang.org/x/sys/unix"
)

// fsTopdirFL is FS_TOPDIR_FL of linux/fs.h (chattr +T): "top of directory
// hierarchies", for ext2, ext3 and ext4's Orlov allocator.
const fsTopdirFL = 0x00020000

// spreadDirs marks the directory open as root (a tree pull's destination,
// which the pull created) as the top of a directory hierarchy for as long
// as the pull creates directories in it, and returns the function that
// gives it back its flags. Best effort: a filesystem without the flag
// (anything but ext2/3/4), or a refusal, changes nothing. A pull killed
// before the undo leaves the flag set, which only steers where later
// subdirectories of that directory are placed.
//
// Why: ext4 puts a new file's inode in its directory's block group, and a
// subdirectory's near its parent's; without a journal it passes over every
// inode of the group freed in the last minute or more (find_inode_bit,
// recently_deleted, one buffer-cache lookup each), so right after a large
// tree was deleted nearby, as a CI job's clean-up or the previous run of
// a benchmark does, each file created costs 100-300 µs of system time
// instead of about 10, for every program creating files there (perf:
// about 60 % of such a pull's samples in that scan). The subdirectories
// of a directory marked +T are placed as the filesystem places top-level
// directories: spread over block groups with more free inodes than
// average and few directories, away from where the files were just
// deleted, and the files inside follow them. Those directories and their
// files are then spread over the disk instead of near the destination:
// no cost on flash or virtual disks, some on a spinning disk reading the
// tree back. Creating files in parallel does not help instead: creates in
// one block group serialize on the block device's buffer lookups
// (docs/benchmarks.md, "Tree pull: creating the files").
func spreadDirs(root *os.Root) (undo func()) {
	f, err := root.Open(".")
	if err != nil {
		return func() {}
	}
	fd := int(f.Fd())
	flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err != nil || flags&fsTopdirFL != 0 {
		f.Close()
		return func() {}
	}
	if err := unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, int(flags|fsTopdirFL)); err != nil {
		f.Close()
		return func() {}
	}
	return func() {
		_ = unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, int(flags))
		f.Close()
	}
}

// dirFlags returns the inode flags of the directory open as root (tests).
func dirFlags(root *os.Root) (uint32, error) {
	f, err := root.Open(".")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
}
