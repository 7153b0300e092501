// Package initcmd implements `artstore init` (the package cannot be named
// init).
package initcmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/outpath"
	"github.com/artifact-store/artstore/internal/storage/backends"
	"github.com/artifact-store/artstore/pkg/client"
)

// Options are the inputs of `artstore init`.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	// Open opens (creating) the store a configuration describes.
	Open func(ctx context.Context, cfg *config.Config) (client.Store, error)
	// ExplicitConfig is the config file named by --config or
	// ARTSTORE_CONFIG, or "" when neither is set.
	ExplicitConfig string

	Type      string
	Bucket    string
	Endpoint  string
	Region    string
	Prefix    string
	PathStyle bool
	Force     bool
}

// Result is the JSON output of init.
type Result struct {
	ConfigFile   string `json:"config_file"`
	Store        string `json:"store"`
	StoreCreated bool   `json:"store_created"`
	Backend      struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Location string `json:"location"`
	} `json:"backend"`
	// CheckpointKey is the store's checkpoint signing key (created when
	// missing).
	CheckpointKey        string `json:"checkpoint_key"`
	CheckpointKeyCreated bool   `json:"checkpoint_key_created"`
	// VerifierKey is the key's public half in note verifier form, as
	// "artstore log key" prints it: what checks this store's evidence.
	VerifierKey string `json:"verifier_key"`
}

// NewCmdInit returns the command. runF, if not nil, replaces the run function.
func NewCmdInit(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config}
	opts.Open = func(ctx context.Context, cfg *config.Config) (client.Store, error) {
		return cmdutil.OpenStore(ctx, cfg, cmdutil.StoreOptions{Create: true, LookupEnv: f.LookupEnv, Now: f.Now, Notice: f.Notice(cfg)})
	}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a store and write the config file that uses it",
		Long: `Create a local store (the event log, and by default a blob directory inside
it) and write the config file that points at it, so later commands need no
flags. The store directory is --store (or ARTSTORE_STORE, default
$XDG_DATA_HOME/artstore); the config file is --config (or ARTSTORE_CONFIG,
default $XDG_CONFIG_HOME/artstore/config.yaml). An existing config file is
not replaced unless --force is given (exit status 5); a config file that is
a symbolic link (kept with your dotfiles) is written through, and stays a
link.

By default the blobs live in the store directory (type local). With
--type s3 they go to an S3-compatible bucket (AWS S3, Ceph RGW, SeaweedFS):
give --bucket and, for a server other than AWS, --endpoint (and usually
--path-style). Credentials are never written: they come from the standard
AWS chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ~/.aws, roles); add
them to the config file by hand if you must. The backend is checked before
the config file is written.

Without init, the first push creates a store at the default place.`,
		Example: `  $ artstore init
  created store /home/me/.local/share/artstore (backend default: local /home/me/.local/share/artstore/blobs)
  created checkpoint key /home/me/.local/share/artstore/checkpoint.key; its public key, for whoever checks this store's evidence:
    artstore/0123456789abcdef0123456789abcdef+1a2b3c4d+AbCd...
  wrote /home/me/.config/artstore/config.yaml

  $ artstore --store /srv/artstore init
  $ artstore init --type s3 --bucket artifacts --endpoint http://127.0.0.1:7480 --path-style
  $ artstore --config ./ci-store.yaml --store ./store init --force

  # JSON: {"config_file", "store", "store_created", "backend": {"id", "type", "location"},
  #        "checkpoint_key", "checkpoint_key_created", "verifier_key"}
  $ artstore init --json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if fl := cmd.Flags().Lookup(config.FlagConfig); fl != nil && fl.Changed {
				opts.ExplicitConfig = fl.Value.String()
			} else if f.LookupEnv != nil {
				if v, ok := f.LookupEnv(config.EnvConfig); ok && v != "" {
					opts.ExplicitConfig = v
				}
			}
			if rest, ok := strings.CutPrefix(opts.ExplicitConfig, "~/"); ok && f.LookupEnv != nil {
				if home, ok := f.LookupEnv("HOME"); ok && home != "" {
					opts.ExplicitConfig = filepath.Join(home, rest)
				}
			}
			if err := opts.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return initRun(cmd.Context(), opts)
		},
	}
	// init loads the configuration itself: a --config file that does not
	// exist yet is what it is asked to write.
	cmdutil.SkipConfig(cmd)
	fl := cmd.Flags()
	fl.StringVar(&opts.Type, "type", backends.TypeLocal, "where the blobs go: `TYPE` local (the store directory) or s3")
	fl.StringVar(&opts.Bucket, "bucket", "", "s3: `BUCKET` name (must exist)")
	fl.StringVar(&opts.Endpoint, "endpoint", "", "s3: endpoint `URL` of an S3-compatible server, e.g. http://127.0.0.1:7480")
	fl.StringVar(&opts.Region, "region", "", "s3: bucket `REGION` (default: from the AWS environment)")
	fl.StringVar(&opts.Prefix, "prefix", "", "s3: key `PREFIX` inside the bucket, e.g. artstore/")
	fl.BoolVar(&opts.PathStyle, "path-style", false, "s3: address the bucket in the path (most S3-compatible servers need it)")
	fl.BoolVarP(&opts.Force, "force", "f", false, "replace an existing config file")
	return cmd
}

func (o *Options) validate() error {
	switch o.Type {
	case backends.TypeLocal:
		if o.Bucket != "" || o.Endpoint != "" || o.Region != "" || o.Prefix != "" || o.PathStyle {
			return cmdutil.FlagErrorf("--bucket, --endpoint, --region, --prefix and --path-style are for --type s3")
		}
	case backends.TypeS3:
		if o.Bucket == "" {
			return cmdutil.FlagErrorf("--type s3 needs --bucket NAME")
		}
	default:
		return cmdutil.FlagErrorf("--type %q: want local or s3", o.Type)
	}
	return nil
}

func initRun(ctx context.Context, opts *Options) (err error) {
	// Config loading fails on a --config file that does not exist; create it
	// empty first, and remove it again unless init succeeds.
	if p := opts.ExplicitConfig; p != "" {
		dir := filepath.Dir(p)
		if _, serr := os.Stat(dir); errors.Is(serr, fs.ErrNotExist) {
			if merr := os.MkdirAll(dir, 0o755); merr != nil {
				return fmt.Errorf("init: create config directory: %w", merr)
			}
			defer func() {
				if err != nil {
					_ = os.Remove(dir) // only if still empty
				}
			}()
		}
		f, cerr := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		switch {
		case cerr == nil:
			_ = f.Close()
			defer func() {
				if err != nil {
					_ = os.Remove(p)
				}
			}()
			opts.Force = true // the file is ours
		case errors.Is(cerr, fs.ErrExist):
		default:
			return fmt.Errorf("init: %w", cerr)
		}
	}
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	opts.IO.SetQuiet(cfg.Output.Quiet)
	opts.IO.SetVerbose(cfg.Output.Verbose)
	if cfg.ConfigPath == "" {
		return cmdutil.FlagErrorf("init: no place for the config file: the home directory is unknown; give one with --config FILE")
	}
	if cfg.ConfigFile != "" && !opts.Force {
		return cmdutil.Mark(fmt.Errorf("init: config file %s already exists; use --force to replace it, or --config FILE to write another", cfg.ConfigFile), client.ErrConflict)
	}

	newCfg := *cfg
	b := config.Backend{Spec: backends.Spec{ID: config.ImplicitBackendID, Type: opts.Type}}
	if opts.Type == backends.TypeLocal {
		b.Root = filepath.Join(cfg.Store, client.DefaultBlobDir)
	} else {
		b.Bucket, b.Endpoint, b.Region, b.Prefix, b.PathStyle = opts.Bucket, opts.Endpoint, opts.Region, opts.Prefix, opts.PathStyle
	}
	newCfg.Backends = map[string]config.Backend{b.ID: b}
	newCfg.DefaultBackend = b.ID

	_, statErr := os.Stat(filepath.Join(cfg.Store, client.LogFileName))
	created := errors.Is(statErr, fs.ErrNotExist)
	_, dirErr := os.Stat(cfg.Store)
	newDir := errors.Is(dirErr, fs.ErrNotExist)
	// undo removes a store directory this run created, so a refused init
	// changes nothing.
	undo := func() {
		if newDir {
			_ = os.RemoveAll(cfg.Store)
		}
	}
	store, err := opts.Open(ctx, &newCfg)
	if err != nil {
		undo()
		return fmt.Errorf("init: %w", err)
	}
	health, err := store.Health(ctx)
	if cerr := store.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		undo()
		return fmt.Errorf("init: check backend: %w", err)
	}
	for _, h := range health {
		if !h.Healthy {
			undo()
			return cmdutil.Mark(fmt.Errorf("init: backend %s (%s) is not usable: %s; the config file was not written and no store was created", h.ID, b.Location(), h.Detail), client.ErrUnavailable)
		}
	}
	key, keyCreated, err := app.EnsureKey(cfg.CheckpointKey)
	if err != nil {
		undo()
		return fmt.Errorf("init: checkpoint key: %w", err)
	}
	if err := writeConfig(ctx, cfg.ConfigPath, render(&newCfg, b, opts.Type)); err != nil {
		return fmt.Errorf("init: %w", err)
	}

	res := Result{ConfigFile: cfg.ConfigPath, Store: cfg.Store, StoreCreated: created,
		CheckpointKey: cfg.CheckpointKey, CheckpointKeyCreated: keyCreated, VerifierKey: key.VerifierKey()}
	res.Backend.ID, res.Backend.Type, res.Backend.Location = b.ID, b.Type, b.Location()
	if cfg.Output.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, res)
	}
	if cfg.Output.Quiet {
		return nil
	}
	verb := "using existing store"
	if created {
		verb = "created store"
	}
	keyVerb := "using checkpoint key"
	if keyCreated {
		keyVerb = "created checkpoint key"
	}
	_, err = fmt.Fprintf(opts.IO.Out, "%s %s (backend %s: %s %s)\n%s %s; its public key, for whoever checks this store's evidence:\n  %s\nwrote %s\n",
		verb, cfg.Store, b.ID, b.Type, b.Location(), keyVerb, cfg.CheckpointKey, res.VerifierKey, cfg.ConfigPath)
	return err
}

// fileConfig is the config file init writes; field order is file order.
type fileConfig struct {
	Store          string                 `yaml:"store"`
	DefaultBackend string                 `yaml:"default_backend,omitempty"`
	Backends       map[string]fileBackend `yaml:"backends,omitempty"`
	CheckpointKey  string                 `yaml:"checkpoint_key,omitempty"`
}

type fileBackend struct {
	Type      string `yaml:"type"`
	Bucket    string `yaml:"bucket,omitempty"`
	Prefix    string `yaml:"prefix,omitempty"`
	Region    string `yaml:"region,omitempty"`
	Endpoint  string `yaml:"endpoint,omitempty"`
	PathStyle bool   `yaml:"path_style,omitempty"`
}

// render returns the config file's text. A local store uses the implicit
// default backend (Store/blobs), so the file only names the store.
func render(cfg *config.Config, b config.Backend, typ string) []byte {
	fc := fileConfig{Store: cfg.Store}
	if cfg.CheckpointKey != filepath.Join(cfg.Store, app.CheckpointKeyFile) {
		fc.CheckpointKey = cfg.CheckpointKey
	}
	if typ == backends.TypeS3 {
		fc.DefaultBackend = b.ID
		fc.Backends = map[string]fileBackend{b.ID: {Type: b.Type, Bucket: b.Bucket, Prefix: b.Prefix, Region: b.Region, Endpoint: b.Endpoint, PathStyle: b.PathStyle}}
	}
	body, err := yaml.Marshal(fc)
	if err != nil {
		// Only strings and booleans: marshalling cannot fail.
		panic(fmt.Sprintf("init: render config: %v", err))
	}
	var s strings.Builder
	s.WriteString("# artstore configuration, written by `artstore init`.\n")
	s.WriteString("# Keys, environment variables and defaults: docs/configuration.md.\n")
	s.Write(body)
	return []byte(s.String())
}

// writeConfig writes data to path with mode 0600, creating the directory:
// through a temporary file renamed into place, so a crash never leaves half
// a config; a symbolic link (a config kept with one's dotfiles) is written
// through and stays a link; a device or pipe is written in place (see
// internal/outpath).
func writeConfig(ctx context.Context, path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create config directory: %w", err)
	}
	if err := outpath.WriteFile(ctx, path, data, 0o600); err != nil {
		return fmt.Errorf("write config file %s: %w", path, err)
	}
	return nil
}
