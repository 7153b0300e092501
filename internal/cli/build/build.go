// Package build reports which artstore this is: version, commit, Go
// version and platform, from the module build information, overridable at
// link time.
package build

import (
	"runtime"
	"runtime/debug"
)

// Version and Commit may be set at link time:
//
//	go build -ldflags "-X github.com/artifact-store/artstore/internal/cli/build.Version=v1.2.3 \
//	  -X github.com/artifact-store/artstore/internal/cli/build.Commit=abc1234" ./cmd/artstore
//
// They are set only by the linker and never written at run time. Empty
// means: take the value from runtime/debug.ReadBuildInfo.
var (
	Version string
	Commit  string
)

// Info identifies a build. The JSON field names are stable.
type Info struct {
	Version  string `json:"version"`  // "v1.2.3", or "devel" for an untagged build
	Commit   string `json:"commit"`   // VCS revision (with "-dirty" for modified trees), or "unknown"
	Go       string `json:"go"`       // Go toolchain version, e.g. "go1.26.8"
	Platform string `json:"platform"` // GOOS/GOARCH, e.g. "linux/amd64"
}

// Read returns the running binary's build information.
func Read() Info {
	bi, _ := debug.ReadBuildInfo()
	return fromBuildInfo(bi, Version, Commit)
}

func fromBuildInfo(bi *debug.BuildInfo, version, commit string) Info {
	info := Info{Version: version, Commit: commit, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		if info.Commit == "" {
			var rev string
			var dirty bool
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					dirty = s.Value == "true"
				}
			}
			if len(rev) > 12 {
				rev = rev[:12]
			}
			if rev != "" && dirty {
				rev += "-dirty"
			}
			info.Commit = rev
		}
	}
	if info.Version == "" {
		info.Version = "devel"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	return info
}
