// Package cmdutil holds what every artstore command shares: the Factory of
// lazily built dependencies, the error types and the one switch that maps
// errors to exit statuses, argument validators that report usage errors,
// and output helpers (JSON, tables).
//
// Adding a dependency (for example a pkg/client Store) is one field on
// Factory, set in New with Lazy or LazyCtx; tests replace the field.
package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/artifact-store/artstore/internal/cli/build"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/backends"
	"github.com/artifact-store/artstore/pkg/client"
	"github.com/spf13/pflag"
)

// Factory gives commands their dependencies. Every function field is lazy:
// nothing is built until a command asks, and then only once per run. A
// Factory lives for one invocation; tests build one with the fields they
// need and leave the rest nil.
type Factory struct {
	// IO holds the standard streams.
	IO *iostreams.IOStreams
	// LookupEnv reads the environment (os.LookupEnv in the CLI).
	LookupEnv func(string) (string, bool)
	// Config returns the resolved configuration. NewRootCmd sets it from
	// the global flags when it is nil.
	Config func() (*config.Config, error)
	// Output returns the output switches alone (flags and environment),
	// without reading the config file, for the commands that must work
	// while it is broken (version). NewRootCmd sets it when it is nil:
	// from the global flags, or from Config when a test supplied one.
	Output func() (config.Output, error)
	// Backends opens every configured backend. A backend that cannot be
	// opened, or a local one whose root directory is missing, is present
	// as a stand-in whose Health says what is wrong and whose other methods
	// fail with storage.ErrUnavailable.
	Backends func(ctx context.Context) (*storage.Registry, error)
	// Client opens the store commands read and write: the local store
	// (Config.Store with the selected backend) or, with --server, the
	// daemon. It fails with an error matching client.ErrUnavailable when
	// the local store does not exist yet; it never creates one.
	Client func(ctx context.Context) (client.Store, error)
	// CompleteClient is Client for shell completion: it prints nothing
	// (no notice of a daemon being waited for) and never retries, since a
	// completion must answer at once or not at all.
	CompleteClient func(ctx context.Context) (client.Store, error)
	// CreateClient is Client for the commands that may start a new store
	// (push, init): a missing local store directory is created.
	CreateClient func(ctx context.Context) (client.Store, error)
	// Now returns the current time.
	Now func() time.Time
	// BuildInfo says which artstore this is.
	BuildInfo func() build.Info
}

// New returns the production Factory over the given streams and
// environment. Config is left nil for NewRootCmd to bind to the global flags.
func New(ios *iostreams.IOStreams, lookupEnv func(string) (string, bool)) *Factory {
	f := &Factory{IO: ios, LookupEnv: lookupEnv, Now: time.Now, BuildInfo: build.Read}
	f.Backends = LazyCtx(func(ctx context.Context) (*storage.Registry, error) {
		if f.Config == nil {
			return nil, errors.New("internal error: Factory.Config is not set")
		}
		cfg, err := f.Config()
		if err != nil {
			return nil, err
		}
		return OpenBackends(ctx, cfg), nil
	})
	f.Client = LazyCtx(func(ctx context.Context) (client.Store, error) { return f.openStore(ctx, false) })
	f.CreateClient = LazyCtx(func(ctx context.Context) (client.Store, error) { return f.openStore(ctx, true) })
	f.CompleteClient = LazyCtx(func(ctx context.Context) (client.Store, error) {
		if f.Config == nil {
			return nil, errors.New("internal error: Factory.Config is not set")
		}
		cfg, err := f.Config()
		if err != nil {
			return nil, err
		}
		quiet := *cfg
		quiet.RetryWindow = 0
		return OpenStore(ctx, &quiet, StoreOptions{LookupEnv: f.LookupEnv, Now: f.Now})
	})
	return f
}

func (f *Factory) openStore(ctx context.Context, create bool) (client.Store, error) {
	if f.Config == nil {
		return nil, errors.New("internal error: Factory.Config is not set")
	}
	cfg, err := f.Config()
	if err != nil {
		return nil, err
	}
	var witness io.Writer
	if f.IO != nil {
		witness = f.IO.ErrOut
	}
	return OpenStore(ctx, cfg, StoreOptions{Create: create, LookupEnv: f.LookupEnv, Now: f.Now, Notice: f.Notice(cfg), Witness: witness})
}

// Notice returns where remote mode's notice of a wait for the daemon goes:
// stderr, unless --quiet.
func (f *Factory) Notice(cfg *config.Config) io.Writer {
	if cfg.Output.Quiet || f.IO == nil {
		return nil
	}
	return f.IO.ErrOut
}

// ConfigFromFlags returns a lazy Config loader reading the global flags
// (registered with config.RegisterFlags on flags) and the environment.
func ConfigFromFlags(flags *pflag.FlagSet, lookupEnv func(string) (string, bool)) func() (*config.Config, error) {
	return Lazy(func() (*config.Config, error) {
		return config.Load(config.LoadOptions{Flags: flags, LookupEnv: lookupEnv})
	})
}

// OutputFromFlags returns a lazy loader of the output switches from the
// global flags and the environment; it never reads the config file.
func OutputFromFlags(flags *pflag.FlagSet, lookupEnv func(string) (string, bool)) func() (config.Output, error) {
	return Lazy(func() (config.Output, error) {
		return config.LoadOutput(config.LoadOptions{Flags: flags, LookupEnv: lookupEnv})
	})
}

// Lazy returns a function that calls build once, on first use, and returns
// its result every time after.
func Lazy[T any](build func() (T, error)) func() (T, error) {
	return sync.OnceValues(build)
}

// LazyCtx is Lazy for builders that take a context: the context of the first
// call is the one used.
func LazyCtx[T any](build func(context.Context) (T, error)) func(context.Context) (T, error) {
	var (
		once sync.Once
		v    T
		err  error
	)
	return func(ctx context.Context) (T, error) {
		once.Do(func() { v, err = build(ctx) })
		return v, err
	}
}

// OpenBackends opens the configured backends into a registry. It never
// fails as a whole: a backend that cannot be opened is registered as a
// stand-in that reports the reason (see Factory.Backends), so one broken
// entry does not stop commands that use another, and `backend health` can
// report every entry.
//
// A local backend whose root directory is missing is not opened, because
// opening creates the directory: after an unmounted disk or a deleted
// directory that would silently start an empty store on the wrong
// filesystem. Creating a store is an explicit step.
func OpenBackends(ctx context.Context, cfg *config.Config) *storage.Registry {
	reg := storage.NewRegistry()
	for _, id := range cfg.BackendIDs() {
		b := cfg.Backends[id]
		var be storage.Backend
		if b.Type == backends.TypeLocal {
			if _, err := os.Stat(b.Root); errors.Is(err, fs.ErrNotExist) {
				be = Unavailable(id, fmt.Sprintf("root directory %s does not exist", b.Root))
			}
		}
		if be == nil {
			opened, err := backends.Open(ctx, b.Spec)
			if err != nil {
				be = Unavailable(id, err.Error())
			} else {
				be = opened
			}
		}
		// IDs come from a map, so they are unique and non-empty.
		_ = reg.Register(be)
	}
	return reg
}
