// Package config resolves artstore's configuration from flags, ARTSTORE_*
// environment variables, the YAML config file and defaults (in that order of
// precedence) into one typed, validated Config.
//
// It is the only package that imports viper. Each Load call uses its own
// viper instance, binds every key explicitly and validates the result once;
// nothing is kept between calls. Viper lowercases map keys, so backend IDs
// must be lowercase, and labels or other user metadata never pass through
// this package.
package config

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/artifact-store/artstore/internal/storage/backends"
	"github.com/spf13/pflag"
)

// ErrInvalid is matched (errors.Is) by every error Load returns for a
// configuration the user must fix: a malformed or misspelt config file, an
// invalid value from a flag or the environment, a --config file that does
// not exist. The CLI reports these as usage errors.
var ErrInvalid = errors.New("invalid configuration")

// ImplicitBackendID is the ID of the local backend artstore adds under the
// store directory when the config file does not define one with that ID.
const ImplicitBackendID = "default"

// Config is the resolved configuration of one artstore invocation.
type Config struct {
	// Store is the absolute path of the local store directory.
	Store string
	// Server is the daemon URL without a trailing slash; empty means local mode.
	Server string
	// ServerSource says where Server was set ("flag --server", "env
	// ARTSTORE_SERVER", "<config file> line N"), for messages about it.
	ServerSource string
	// Tags are the tag settings (config key tags).
	Tags Tags
	// Token is the bearer token for the daemon (ARTSTORE_TOKEN or config
	// key token). Never print it.
	Token string
	// DefaultBackend is the ID of the backend commands use; it is always a
	// key of Backends.
	DefaultBackend string
	// Backends are the configured storage backends by ID. It always holds
	// ImplicitBackendID.
	Backends map[string]Backend
	// RetrievalRecords says whether local-mode pulls append retrieval events.
	RetrievalRecords bool
	// RetryWindow is how long remote mode retries a call while the daemon
	// is unreachable or unavailable; 0 means no retries.
	RetryWindow time.Duration
	// CheckpointKey is the absolute path of the store's checkpoint signing
	// key (checkpoint_key; default Store/checkpoint.key).
	CheckpointKey string
	// StrictCheckpoints makes remote mode fail when the daemon's log is
	// not an extension of the checkpoint it showed before.
	StrictCheckpoints bool
	// StateDir is where the CLI keeps what it remembers between runs
	// ($XDG_STATE_HOME/artstore, else ~/.local/state/artstore; "" when
	// the home directory is unknown).
	StateDir string
	// Serve holds the daemon settings of the config file (serve:).
	Serve Serve
	// Output holds the output switches.
	Output Output
	// ConfigFile is the config file that was read, or "" if none was.
	ConfigFile string
	// ConfigPath is where artstore looks for the config file (the --config
	// or ARTSTORE_CONFIG value, else the default path), whether or not it
	// exists. Commands that write a config file write it here.
	ConfigPath string
	// CacheDir is artstore's directory of caches: $XDG_CACHE_HOME/artstore
	// (else ~/.cache/artstore); empty when the home directory is unknown.
	// What is there can always be removed: it only saves work.
	CacheDir string
}

// Serve is the serve: section of the config file, validated. Fields the
// file does not set keep their zero value; Has tells which it sets, since
// `artstore serve` applies a field only where its flag was not given.
type Serve struct {
	Listen            string
	Log               string // a PostgreSQL URL or an absolute SQLite path
	TLSCert, TLSKey   string // absolute paths
	MaxBody           int64  // bytes
	LogFormat         string // text or json
	Drain             time.Duration
	RetentionInterval time.Duration
	GCInterval        time.Duration
	GCGrace           time.Duration
	ProxyBlobs        bool
	// OCI serves the OCI Distribution API under /v2/ (true unless the
	// file sets oci: false).
	OCI              bool
	OCIAnonymousPull bool
	OCIUploadDir     string // absolute path
	OCIUploadExpiry  time.Duration

	set map[string]bool
}

// Has reports whether the config file sets the field (one of ServeFields).
func (s Serve) Has(field string) bool { return s.set[field] }

// Tags holds the tag settings (config key tags).
type Tags struct {
	// Protected are glob patterns (path.Match syntax) of tags that, once
	// set, are never moved to another version.
	Protected []string
}

// Output holds the output switches (flags and environment only).
type Output struct {
	JSON bool // machine-readable JSON on stdout (also on with JQ or Template)
	// JQ is a jq expression and Template a Go template the JSON output
	// goes through (at most one of them is set).
	JQ       string
	Template string
	Quiet    bool // no progress or informational messages
	Verbose  bool // diagnostics on stderr
}

// Backend is one storage backend entry (config key backends.<ID>): the
// storage layer's Spec, which defines the settings once, and where it came
// from.
type Backend struct {
	backends.Spec
	// Implicit is true for the default local backend that artstore adds
	// when the config file defines no backend with ImplicitBackendID.
	Implicit bool
}

// Location describes where the backend keeps its blobs, for display:
// the root directory, or s3://bucket/prefix (at endpoint).
func (b Backend) Location() string {
	switch b.Type {
	case backends.TypeLocal:
		return b.Root
	case backends.TypeS3:
		loc := "s3://" + b.Bucket + "/" + strings.TrimPrefix(b.Prefix, "/")
		if b.Endpoint != "" {
			loc += " at " + b.Endpoint
		}
		return loc
	}
	return ""
}

// BackendIDs returns the configured backend IDs, sorted.
func (c *Config) BackendIDs() []string {
	ids := make([]string, 0, len(c.Backends))
	for id := range c.Backends {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Specs returns the specifications of every configured backend, sorted by ID.
func (c *Config) Specs() []backends.Spec {
	specs := make([]backends.Spec, 0, len(c.Backends))
	for _, id := range c.BackendIDs() {
		specs = append(specs, c.Backends[id].Spec)
	}
	return specs
}

// LoadOptions are the inputs of Load. Everything is explicit so tests can
// run Load without touching the process environment.
type LoadOptions struct {
	// Flags is the FlagSet the global flags were registered on with
	// RegisterFlags (after parsing). Nil means no flags.
	Flags *pflag.FlagSet
	// LookupEnv reads an environment variable (os.LookupEnv in the CLI).
	// Nil means an empty environment. Empty values count as unset.
	LookupEnv func(string) (string, bool)
	// ConfigFile, if set, names the config file as --config would; the
	// --config flag and ARTSTORE_CONFIG still take precedence.
	ConfigFile string
	// Home, ConfigHome and DataHome override $HOME, $XDG_CONFIG_HOME and
	// $XDG_DATA_HOME; empty means read them from LookupEnv (and, for Home,
	// os.UserHomeDir as a last resort).
	Home, ConfigHome, DataHome string
	// CacheHome overrides $XDG_CACHE_HOME likewise.
	CacheHome string
	// WorkDir resolves relative paths given by flags or the environment;
	// empty means the process's working directory.
	WorkDir string
}

func (o *LoadOptions) env(name string) (string, bool) {
	if o.LookupEnv == nil || name == "" {
		return "", false
	}
	v, ok := o.LookupEnv(name)
	if !ok || v == "" {
		return "", false
	}
	return v, true
}

func (o *LoadOptions) flag(name string) (*pflag.Flag, bool) {
	if o.Flags == nil {
		return nil, false
	}
	f := o.Flags.Lookup(name)
	return f, f != nil && f.Changed
}

// dirs resolves the home and XDG directories. XDG variables holding a
// relative path are ignored, as the XDG base directory spec requires.
func (o *LoadOptions) dirs() (home, configHome, dataHome string) {
	home = o.Home
	if home == "" {
		home, _ = o.env("HOME")
	}
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	configHome, dataHome = o.ConfigHome, o.DataHome
	if configHome == "" {
		if v, ok := o.env("XDG_CONFIG_HOME"); ok && filepath.IsAbs(v) {
			configHome = v
		} else if home != "" {
			configHome = filepath.Join(home, ".config")
		}
	}
	if dataHome == "" {
		if v, ok := o.env("XDG_DATA_HOME"); ok && filepath.IsAbs(v) {
			dataHome = v
		} else if home != "" {
			dataHome = filepath.Join(home, ".local", "share")
		}
	}
	return home, configHome, dataHome
}

// cacheDir resolves artstore's cache directory: $XDG_CACHE_HOME/artstore
// (an absolute XDG_CACHE_HOME only), else home/.cache/artstore.
func (o *LoadOptions) cacheDir(home string) string {
	cacheHome := o.CacheHome
	if cacheHome == "" {
		if v, ok := o.env("XDG_CACHE_HOME"); ok && filepath.IsAbs(v) {
			cacheHome = v
		} else if home != "" {
			cacheHome = filepath.Join(home, ".cache")
		}
	}
	if cacheHome == "" {
		return ""
	}
	return filepath.Join(cacheHome, "artstore")
}

// stateDir returns artstore's directory under $XDG_STATE_HOME (an absolute
// path), else ~/.local/state/artstore; "" without a home directory.
func (o *LoadOptions) stateDir(home string) string {
	if v, ok := o.env("XDG_STATE_HOME"); ok && filepath.IsAbs(v) {
		return filepath.Join(v, "artstore")
	}
	if home == "" {
		return ""
	}
	return filepath.Join(home, ".local", "state", "artstore")
}
