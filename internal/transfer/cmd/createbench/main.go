//go:build linux

// Command createbench times creating a tree pull's files without the pull:
// N files of 100 B to 16 KiB in 100 directories below a destination,
// each created with openat(O_CREAT|O_EXCL) on its directory's descriptor,
// written with one write(2) and closed, from one or more goroutines. It
// prints the wall time and the time spent in openat: what a create costs
// on the filesystem in its current state, apart from the pull
// (docs/benchmarks.md, "Tree pull: creating the files").
//
//	createbench -d DEST [-n FILES] [-w WORKERS] [-m samedir|perdir] [-topdir]
//
// samedir hands the files to the workers in turn, so they create files in
// the same directory at once; perdir gives each directory's files to one
// worker. -topdir marks DEST +T (FS_TOPDIR_FL) before its directories are
// created, as a tree pull into a new directory does.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

const dirs = 100

func main() {
	dst := flag.String("d", "", "destination directory (created if missing)")
	n := flag.Int("n", 10000, "files")
	workers := flag.Int("w", 1, "goroutines creating files")
	mode := flag.String("m", "perdir", "samedir: files to workers in turn; perdir: each directory's files to one worker")
	topdir := flag.Bool("topdir", false, "mark the destination +T (FS_TOPDIR_FL) before creating its directories")
	flag.Parse()
	if *dst == "" || *n < dirs || *workers < 1 || (*mode != "samedir" && *mode != "perdir") {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*dst, *n, *workers, *mode, *topdir); err != nil {
		fmt.Fprintln(os.Stderr, "createbench:", err)
		os.Exit(1)
	}
}

func run(dst string, n, workers int, mode string, topdir bool) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	if topdir {
		fd, err := unix.Open(dst, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			return err
		}
		flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
		if err == nil {
			err = unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, int(flags|0x00020000))
		}
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("set FS_TOPDIR_FL: %w", err)
		}
	}
	dfds := make([]int, dirs)
	for i := range dfds {
		p := filepath.Join(dst, fmt.Sprintf("d%03d", i))
		if err := os.Mkdir(p, 0o755); err != nil {
			return err
		}
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		dfds[i] = fd
	}
	var (
		mu     sync.Mutex
		inOpen time.Duration
		first  error
		wg     sync.WaitGroup
	)
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			buf := make([]byte, 16384)
			r := rand.New(rand.NewPCG(uint64(w), 1))
			var spent time.Duration
			var err error
			for i := 0; i < n && err == nil; i++ {
				d := i / (n / dirs) % dirs // path order: a directory's files together
				if (mode == "samedir" && i%workers != w) || (mode == "perdir" && d%workers != w) {
					continue
				}
				t0 := time.Now()
				var fd int
				fd, err = unix.Openat(dfds[d], fmt.Sprintf("f%06d", i), unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
				spent += time.Since(t0)
				if err == nil {
					_, err = unix.Write(fd, buf[:100+r.IntN(16284)])
					unix.Close(fd)
				}
			}
			mu.Lock()
			inOpen += spent
			if first == nil {
				first = err
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	fmt.Printf("files %d workers %d %s topdir %v: %.2f s, openat %.2f s (%.0f µs each)\n",
		n, workers, mode, topdir, time.Since(start).Seconds(), inOpen.Seconds(), inOpen.Seconds()*1e6/float64(n))
	return nil
}
