// Command transferbench drives the transfer pipeline against a local
// backend for scripts/bench-push.sh: it pushes or pulls one file and prints
// one line of JSON with the figures. It is a measuring tool, not part of
// artstore's interface. TRANSFERBENCH_CONCURRENCY, TRANSFERBENCH_BUFFER_MIB
// and TRANSFERBENCH_HASHERS override Concurrency, BufferSize and
// HashWorkers; TRANSFERBENCH_CPUPROFILE names a file
// to write a CPU profile of the transfer to, TRANSFERBENCH_TRACE one for an
// execution trace.
//
//	transferbench push ROOT FILE
//	transferbench pull ROOT MANIFEST_DIGEST OUTPUT
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage/local"
	"github.com/artifact-store/artstore/internal/transfer"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "transferbench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 3 {
		return fmt.Errorf("usage: transferbench push ROOT FILE | pull ROOT MANIFEST OUTPUT")
	}
	be, err := local.New("bench", args[1])
	if err != nil {
		return err
	}
	store := transfer.FromBackend(be)
	ctx := context.Background()
	if p := os.Getenv("TRANSFERBENCH_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if p := os.Getenv("TRANSFERBENCH_TRACE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			return err
		}
		defer trace.Stop()
	}
	start := time.Now()
	out := map[string]any{}
	switch {
	case args[0] == "push" && len(args) == 3:
		f, err := os.Open(args[2])
		if err != nil {
			return err
		}
		defer f.Close()
		opts := transfer.PushOptions{}
		if c := os.Getenv("TRANSFERBENCH_CONCURRENCY"); c != "" {
			if opts.Concurrency, err = strconv.Atoi(c); err != nil {
				return err
			}
		}
		if c := os.Getenv("TRANSFERBENCH_BUFFER_MIB"); c != "" {
			if opts.BufferSize, err = strconv.Atoi(c); err != nil {
				return err
			}
			opts.BufferSize <<= 20
		}
		if c := os.Getenv("TRANSFERBENCH_HASHERS"); c != "" {
			if opts.HashWorkers, err = strconv.Atoi(c); err != nil {
				return err
			}
		}
		res, err := transfer.Push(ctx, f, store, opts)
		if err != nil {
			return err
		}
		out["manifest"] = res.ManifestDigest.String()
		out["content_digest"] = res.ContentDigest.String()
		out["size"] = res.Size
		out["chunks"] = res.Chunks
		out["uploaded_bytes"] = res.UploadedBytes
		out["deduplicated_bytes"] = res.DeduplicatedBytes
	case args[0] == "pull" && len(args) == 4:
		d, err := content.ParseDigest(args[2])
		if err != nil {
			return err
		}
		opts := transfer.PullOptions{}
		if c := os.Getenv("TRANSFERBENCH_CONCURRENCY"); c != "" {
			if opts.Concurrency, err = strconv.Atoi(c); err != nil {
				return err
			}
		}
		if c := os.Getenv("TRANSFERBENCH_BUFFER_MIB"); c != "" {
			if opts.BufferSize, err = strconv.Atoi(c); err != nil {
				return err
			}
			opts.BufferSize <<= 20
		}
		res, err := transfer.PullToFile(ctx, d, store, args[3], opts)
		if err != nil {
			return err
		}
		out["written"] = res.Written
	default:
		return fmt.Errorf("usage: transferbench push ROOT FILE | pull ROOT MANIFEST OUTPUT")
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	out["seconds"] = time.Since(start).Seconds()
	out["go_sys_bytes"] = ms.Sys
	out["heap_sys_bytes"] = ms.HeapSys
	return json.NewEncoder(os.Stdout).Encode(out)
}
