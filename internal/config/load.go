package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/artifact-store/artstore/internal/storage/backends"
	"github.com/spf13/viper"
)

// minPartSize is S3's smallest multipart part (except the last).
const minPartSize = 5 << 20

// Load resolves the configuration: flag > ARTSTORE_* environment > config
// file > default, then validates the result. A missing config file at the
// default path is fine; a missing file named by --config or ARTSTORE_CONFIG
// is an error. Errors the user must fix match ErrInvalid and name the key,
// where the value came from, and the flag and variable that set it.
func Load(opts LoadOptions) (*Config, error) {
	home, configHome, dataHome := opts.dirs()
	ps := &problems{}

	// 1. Which config file; 2. read and check it.
	path, explicit, pathSrc, err := opts.configFile(home, configHome)
	if err != nil {
		return nil, err
	}
	cfg := &Config{ConfigPath: path, CacheDir: opts.cacheDir(home)}
	data, layout, err := readConfigFile(cfg, explicit, pathSrc, ps)
	if err != nil {
		return nil, err
	}

	// 3. Layer the sources in one viper instance.
	v, err := opts.layers(data, path, dataHome)
	if err != nil {
		return nil, err
	}

	// 4. Typed values, validated.
	r := &resolver{v: v, opts: &opts, layout: layout, ps: ps, home: home}
	r.resolve(cfg)
	if err := ps.err(); err != nil {
		return nil, err
	}
	cfg.StateDir = opts.stateDir(home)
	return cfg, nil
}

// LoadOutput resolves only the output switches (--json, --jq, --template,
// --quiet, --verbose), which come from flags and the environment alone. It
// never reads the config file, so a command that needs nothing else
// (version) works while the file is broken.
func LoadOutput(opts LoadOptions) (Output, error) {
	home, _, _ := opts.dirs()
	ps := &problems{}
	v, err := opts.layers(nil, "", "")
	if err != nil {
		return Output{}, err
	}
	r := &resolver{v: v, opts: &opts, layout: &fileLayout{lines: map[string]int{}}, ps: ps, home: home}
	out := r.output()
	return out, ps.err()
}

// configFile says which config file to read: --config, else
// ARTSTORE_CONFIG, else LoadOptions.ConfigFile (explicit: it must exist),
// else the default path under configHome (read when it exists).
func (o *LoadOptions) configFile(home, configHome string) (path string, explicit bool, src string, err error) {
	path, explicit, src = o.ConfigFile, o.ConfigFile != "", "LoadOptions.ConfigFile"
	if v, ok := o.env(EnvConfig); ok {
		path, explicit, src = v, true, "env "+EnvConfig
	}
	if f, ok := o.flag(FlagConfig); ok {
		path, explicit, src = f.Value.String(), true, "flag --"+FlagConfig
	}
	if !explicit {
		if configHome == "" {
			return "", false, src, nil
		}
		return filepath.Join(configHome, "artstore", "config.yaml"), false, src, nil
	}
	p, err := o.absPath(expandHome(path, home))
	return p, true, src, err
}

// readConfigFile reads cfg.ConfigPath, when set, and checks its shape,
// setting cfg.ConfigFile when a file was read. It returns the file's bytes
// and where each key sits in it.
func readConfigFile(cfg *Config, explicit bool, pathSrc string, ps *problems) ([]byte, *fileLayout, error) {
	path := cfg.ConfigPath
	layout := &fileLayout{name: path, lines: map[string]int{}}
	if path == "" {
		return nil, layout, nil
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		cfg.ConfigFile = path
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		return nil, layout, nil // no config file at the default path: defaults apply
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, fmt.Errorf("%w: config file %s (from %s) does not exist", ErrInvalid, path, pathSrc)
	default:
		return nil, nil, fmt.Errorf("read config file: %w", err)
	}
	layout, err = checkFile(path, data, ps)
	if err != nil {
		return nil, nil, err
	}
	return data, layout, nil
}

// layers builds the viper instance holding every source: the file's data,
// the environment over it, the flags bound above both, and the defaults.
// An empty dataHome leaves the store without a default.
func (o *LoadOptions) layers(data []byte, path, dataHome string) (*viper.Viper, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("%w: config file %s: %v", ErrInvalid, path, err)
	}
	// Viper reads the environment only through os.Getenv; to keep the
	// environment injectable, env values are merged over the file layer,
	// which preserves flag > env > file > default.
	envLayer := map[string]any{}
	for _, s := range Settings() {
		if s.Key == "" {
			continue
		}
		if val, ok := o.env(s.Env); ok {
			envLayer[s.Key] = val
		}
		if s.Flag != "" && o.Flags != nil {
			if f := o.Flags.Lookup(s.Flag); f != nil {
				if err := v.BindPFlag(s.Key, f); err != nil {
					return nil, fmt.Errorf("bind flag --%s: %w", s.Flag, err)
				}
			}
		}
	}
	if err := v.MergeConfigMap(envLayer); err != nil {
		return nil, fmt.Errorf("merge environment: %w", err)
	}
	if dataHome != "" {
		v.SetDefault(KeyStore, filepath.Join(dataHome, "artstore"))
	}
	v.SetDefault(KeyServer, "")
	v.SetDefault(KeyToken, "")
	v.SetDefault(KeyDefaultBackend, ImplicitBackendID)
	v.SetDefault(KeyRetrievalRecords, true)
	v.SetDefault(KeyRetryWindow, "60s")
	v.SetDefault(KeyStrict, false)
	v.SetDefault(KeyJSON, false)
	v.SetDefault(KeyQuiet, false)
	v.SetDefault(KeyVerbose, false)
	return v, nil
}

// resolve fills cfg with the typed, validated values, recording problems.
func (r *resolver) resolve(cfg *Config) {
	ps := r.ps
	before := len(ps.list)
	cfg.Store = r.path(KeyStore)
	storeOK := len(ps.list) == before
	if cfg.Store == "" && storeOK {
		if layer, _ := r.source(KeyStore); layer == "default" {
			s, _ := settingByKey(KeyStore)
			ps.add(&Problem{Key: KeyStore, Msg: "no store directory: the home directory is unknown; set one", Flag: "--" + s.Flag, Env: s.Env})
		} else {
			r.problem(KeyStore, "must not be empty")
		}
		storeOK = false
	}
	cfg.Server = r.server()
	if cfg.Server != "" {
		_, cfg.ServerSource = r.source(KeyServer)
	}
	cfg.Token = r.token()
	cfg.RetrievalRecords = r.boolean(KeyRetrievalRecords)
	cfg.RetryWindow = r.duration(KeyRetryWindow)
	cfg.StrictCheckpoints = r.boolean(KeyStrict)
	if cfg.CheckpointKey = r.path(KeyCheckpointKey); cfg.CheckpointKey == "" && cfg.Store != "" {
		cfg.CheckpointKey = filepath.Join(cfg.Store, "checkpoint.key")
	}
	cfg.Serve = r.serve()
	cfg.Tags = r.tags()
	cfg.Output = r.output()
	cfg.Backends = r.backends()
	if _, ok := cfg.Backends[ImplicitBackendID]; !ok && storeOK {
		cfg.Backends[ImplicitBackendID] = Backend{Implicit: true, Spec: backends.Spec{
			ID: ImplicitBackendID, Type: backends.TypeLocal,
			Root: filepath.Join(cfg.Store, "blobs"),
		}}
	}
	cfg.DefaultBackend = r.str(KeyDefaultBackend)
	// Without a valid store the implicit backend is missing; do not report
	// that as a second problem.
	if _, ok := cfg.Backends[cfg.DefaultBackend]; !ok && (storeOK || cfg.DefaultBackend != ImplicitBackendID) {
		r.problem(KeyDefaultBackend, fmt.Sprintf("%q is not a configured backend (configured: %s)",
			cfg.DefaultBackend, strings.Join(cfg.BackendIDs(), ", ")))
	}
}

// output reads the output switches and checks that they go together.
func (r *resolver) output() Output {
	out := Output{JSON: r.boolean(KeyJSON), JQ: r.str(KeyJQ), Template: r.str(KeyTemplate),
		Quiet: r.boolean(KeyQuiet), Verbose: r.boolean(KeyVerbose)}
	if out.JQ != "" || out.Template != "" {
		out.JSON = true
	}
	if out.JQ != "" && out.Template != "" {
		r.ps.add(&Problem{Key: "jq, template", Msg: "--jq and --template cannot both be given"})
	}
	if out.Quiet && out.Verbose {
		r.ps.add(&Problem{Key: "quiet, verbose", Msg: "--quiet and --verbose cannot both be on"})
	}
	return out
}

// resolver reads typed values out of the layered viper instance and records
// problems with their source.
type resolver struct {
	v      *viper.Viper
	opts   *LoadOptions
	layout *fileLayout
	ps     *problems
	home   string
}

// source says which layer supplied key's value: "flag", "env", "file" or
// "default", with the description used in messages.
func (r *resolver) source(key string) (layer, desc string) {
	if s, ok := settingByKey(key); ok {
		if s.Flag != "" {
			if _, changed := r.opts.flag(s.Flag); changed {
				return "flag", "flag --" + s.Flag
			}
		}
		if s.Env != "" {
			if _, set := r.opts.env(s.Env); set {
				return "env", "env " + s.Env
			}
		}
	}
	if r.layout.has(key) {
		return "file", r.layout.source(key)
	}
	return "default", "default"
}

func (r *resolver) problem(key, msg string) {
	_, src := r.source(key)
	p := &Problem{Key: key, Msg: msg, Source: src}
	if s, ok := settingByKey(key); ok {
		if s.Flag != "" {
			p.Flag = "--" + s.Flag
		}
		p.Env = s.Env
	}
	r.ps.add(p)
}

// str returns key's value as a string. YAML numbers and booleans are
// accepted as their text ("bucket: 2024").
func (r *resolver) str(key string) string {
	switch x := r.v.Get(key).(type) {
	case nil:
		return ""
	case string:
		return x
	case bool, int, int64, uint64, float64:
		return fmt.Sprint(x)
	default:
		r.problem(key, "must be a single value, not a list or mapping")
		return ""
	}
}

func (r *resolver) boolean(key string) bool {
	switch x := r.v.Get(key).(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		if err != nil {
			r.problem(key, fmt.Sprintf("%q is not a boolean (want true or false)", x))
		}
		return b
	default:
		r.problem(key, fmt.Sprintf("%v is not a boolean (want true or false)", x))
		return false
	}
}

func (r *resolver) size(key string) int64 {
	switch x := r.v.Get(key).(type) {
	case nil:
		return 0
	case int:
		if x < 0 {
			r.problem(key, fmt.Sprintf("%d is negative", x))
			return 0
		}
		return int64(x)
	case string:
		n, err := ParseSize(x)
		if err != nil {
			r.problem(key, err.Error())
		}
		return n
	default:
		r.problem(key, fmt.Sprintf("%v is not a size (want a number of bytes, optionally with a unit: 1048576, 64MiB, 1GB)", x))
		return 0
	}
}

func (r *resolver) integer(key string) int {
	switch x := r.v.Get(key).(type) {
	case nil:
		return 0
	case int:
		return x
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			r.problem(key, fmt.Sprintf("%q is not a whole number", x))
		}
		return n
	default:
		r.problem(key, fmt.Sprintf("%v is not a whole number", x))
		return 0
	}
}

func (r *resolver) duration(key string) time.Duration {
	switch x := r.v.Get(key).(type) {
	case nil:
		return 0
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(x))
		if err != nil || d < 0 {
			r.problem(key, fmt.Sprintf("%q is not a duration (want e.g. 30s, 2m, 1h30m)", x))
			return 0
		}
		return d
	default:
		r.problem(key, fmt.Sprintf("%v is not a duration (want e.g. 30s, 2m, 1h30m; a bare number has no unit)", x))
		return 0
	}
}

// path resolves a path-valued key: "~/" expands to the home directory;
// relative paths from flags or the environment are relative to the working
// directory; in the config file they must be absolute (relative to what
// would be a guess).
func (r *resolver) path(key string) string {
	p := r.str(key)
	if p == "" {
		return ""
	}
	p = expandHome(p, r.home)
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	if layer, _ := r.source(key); layer == "file" {
		r.problem(key, fmt.Sprintf("%q must be an absolute path or start with ~/", p))
		return ""
	}
	abs, err := r.opts.absPath(p)
	if err != nil {
		r.problem(key, err.Error())
		return ""
	}
	return abs
}

func (r *resolver) server() string {
	s := strings.TrimSpace(r.str(KeyServer))
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.problem(KeyServer, fmt.Sprintf("%q is not a daemon URL (want http://host:port or https://host)", s))
		return ""
	}
	if u.User != nil {
		r.problem(KeyServer, "must not contain credentials; put the token in ARTSTORE_TOKEN or the config key token")
		return ""
	}
	return strings.TrimRight(s, "/")
}

func (r *resolver) token() string {
	t := r.str(KeyToken)
	if strings.IndexFunc(t, unicode.IsSpace) >= 0 {
		// Never echo the token itself.
		r.problem(KeyToken, "contains whitespace (a stray newline from a file?)")
	}
	return t
}

func (r *resolver) backends() map[string]Backend {
	out := map[string]Backend{}
	raw, _ := r.v.Get(KeyBackends).(map[string]any)
	ids := make([]string, 0, len(raw))
	for id := range raw {
		if backendIDPattern.MatchString(id) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		k := func(field string) string { return KeyBackends + "." + id + "." + field }
		b := Backend{Spec: backends.Spec{
			ID:                 id,
			Type:               r.str(k("type")),
			Bucket:             r.str(k("bucket")),
			Prefix:             r.str(k("prefix")),
			Region:             r.str(k("region")),
			Endpoint:           r.str(k("endpoint")),
			PathStyle:          r.boolean(k("path_style")),
			AccessKeyID:        r.str(k("access_key_id")),
			SecretAccessKey:    r.str(k("secret_access_key")),
			SessionToken:       r.str(k("session_token")),
			MultipartThreshold: r.size(k("multipart_threshold")),
			PartSize:           r.size(k("part_size")),
			Concurrency:        r.integer(k("concurrency")),
			Timeout:            r.duration(k("timeout")),
		}}
		switch b.Type {
		case backends.TypeLocal:
			b.Root = r.path(k("root"))
			if !r.layout.has(k("root")) {
				r.problem(KeyBackends+"."+id, "type local needs root: the directory holding the blobs")
			}
		case backends.TypeS3:
			if b.Bucket == "" {
				r.problem(KeyBackends+"."+id, "type s3 needs bucket")
			}
			if b.Endpoint != "" {
				u, err := url.Parse(b.Endpoint)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					r.problem(k("endpoint"), fmt.Sprintf("%q is not an endpoint URL (want http://host:port or https://host)", b.Endpoint))
				}
			}
			if (b.AccessKeyID == "") != (b.SecretAccessKey == "") {
				r.problem(KeyBackends+"."+id, "set access_key_id and secret_access_key together, or neither (to use the standard AWS credential chain)")
			}
			if b.PartSize != 0 && b.PartSize < minPartSize {
				r.problem(k("part_size"), fmt.Sprintf("%d bytes is below S3's minimum part size of 5MiB", b.PartSize))
			}
			if b.Concurrency < 0 || b.Concurrency > 256 {
				r.problem(k("concurrency"), fmt.Sprintf("%d is out of range (want 1 to 256, or leave it unset)", b.Concurrency))
			}
		case "":
			r.problem(KeyBackends+"."+id, "missing type (want local or s3)")
		default:
			r.problem(k("type"), fmt.Sprintf("unknown backend type %q (want local or s3)", b.Type))
		}
		// Fields that belong to the other type are mistakes, not no-ops.
		for _, f := range BackendFields() {
			if f.Types != "all" && b.Type != "" && f.Types != b.Type && r.layout.has(k(f.Name)) {
				r.problem(k(f.Name), fmt.Sprintf("is not used by type %s (only by type %s)", b.Type, f.Types))
			}
		}
		out[id] = b
	}
	return out
}

// tags reads tags.protected: each pattern must be valid, and none may
// match "latest", which every push moves.
func (r *resolver) tags() Tags {
	raw, _ := r.v.Get(KeyTagsProtected).([]any)
	var t Tags
	for _, item := range raw {
		p := strings.TrimSpace(fmt.Sprint(item))
		if _, err := path.Match(p, ""); err != nil || p == "" {
			r.problem(KeyTagsProtected, fmt.Sprintf("%q is not a tag pattern (use * and ?, e.g. v* or release-*)", p))
			continue
		}
		if ok, _ := path.Match(p, "latest"); ok {
			r.problem(KeyTagsProtected, fmt.Sprintf("%q matches latest, which every push moves; protect other tags", p))
			continue
		}
		t.Protected = append(t.Protected, p)
	}
	return t
}

// serve reads and checks the serve: section.
func (r *resolver) serve() Serve {
	s := Serve{set: map[string]bool{}}
	k := func(field string) string { return KeyServe + "." + field }
	for _, f := range ServeFields() {
		s.set[f] = r.layout.has(k(f))
	}
	s.Listen = r.str(k("listen"))
	if s.Has("listen") {
		if _, _, err := net.SplitHostPort(s.Listen); err != nil {
			r.problem(k("listen"), fmt.Sprintf("%q is not host:port (e.g. 127.0.0.1:8787, :8443)", s.Listen))
		}
	}
	if s.Log = r.str(k("log")); s.Log != "" && !isPostgresURL(s.Log) {
		s.Log = r.path(k("log"))
	}
	s.TLSCert, s.TLSKey = r.path(k("tls_cert")), r.path(k("tls_key"))
	if s.Has("tls_cert") != s.Has("tls_key") {
		r.problem(KeyServe, "set tls_cert and tls_key together, or neither")
	}
	s.MaxBody = r.size(k("max_body"))
	if s.Has("max_body") && s.MaxBody <= 0 {
		r.problem(k("max_body"), "must be a positive size, e.g. 4MiB")
	}
	s.LogFormat = r.str(k("log_format"))
	if s.Has("log_format") && s.LogFormat != "text" && s.LogFormat != "json" {
		r.problem(k("log_format"), fmt.Sprintf("%q is neither text nor json", s.LogFormat))
	}
	s.Drain = r.duration(k("drain"))
	s.RetentionInterval = r.duration(k("retention_interval"))
	s.GCInterval = r.duration(k("gc_interval"))
	s.GCGrace = r.duration(k("gc_grace"))
	s.ProxyBlobs = r.boolean(k("proxy_blobs"))
	s.OCI = !s.Has("oci") || r.boolean(k("oci"))
	s.OCIAnonymousPull = r.boolean(k("oci_anonymous_pull"))
	s.OCIUploadDir = r.path(k("oci_upload_dir"))
	s.OCIUploadExpiry = r.duration(k("oci_upload_expiry"))
	if s.Has("oci_upload_expiry") && s.OCIUploadExpiry <= 0 {
		r.problem(k("oci_upload_expiry"), "must be a positive duration, e.g. 24h")
	}
	return s
}

// isPostgresURL reports whether an event log setting names a PostgreSQL
// database rather than a SQLite file.
func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// absPath makes p absolute against the configured working directory.
func (o *LoadOptions) absPath(p string) (string, error) {
	if filepath.IsAbs(p) {
		return filepath.Clean(p), nil
	}
	wd := o.WorkDir
	if wd == "" {
		var err error
		if wd, err = os.Getwd(); err != nil {
			return "", fmt.Errorf("resolve relative path %q: %w", p, err)
		}
	}
	return filepath.Join(wd, p), nil
}

func expandHome(p, home string) string {
	if home == "" {
		return p
	}
	if p == "~" {
		return home
	}
	if strings.HasPrefix(p, "~/") {
		return filepath.Join(home, p[2:])
	}
	return p
}
