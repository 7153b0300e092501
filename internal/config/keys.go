package config

import (
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// Configuration keys (as written in the config file) of the top-level
// settings. Backend entries live under KeyBackends.<id>.<field>.
const (
	KeyStore            = "store"
	KeyServer           = "server"
	KeyToken            = "token"
	KeyDefaultBackend   = "default_backend"
	KeyRetrievalRecords = "retrieval_records"
	KeyRetryWindow      = "retry_window"
	KeyCheckpointKey    = "checkpoint_key"
	KeyStrict           = "strict_checkpoints"
	KeyBackends         = "backends"
	// KeyServe is the section of `artstore serve`'s settings (file only;
	// the command's flags override it). See ServeFields.
	KeyServe = "serve"
	// KeyTags is the section of tag settings (file only): KeyTagsProtected.
	KeyTags = "tags"
	// KeyTagsProtected lists glob patterns (path.Match syntax, e.g. "v*",
	// "release-*") of tags that, once set, are never moved.
	KeyTagsProtected = KeyTags + ".protected"

	// Output settings: flags and environment only, never the config file
	// (a config file that turned on JSON output would break every script).
	KeyJSON     = "json"
	KeyJQ       = "jq"
	KeyTemplate = "template"
	KeyQuiet    = "quiet"
	KeyVerbose  = "verbose"
)

// Flag names of the global flags RegisterFlags defines.
const (
	FlagConfig        = "config"
	FlagStore         = "store"
	FlagServer        = "server"
	FlagBackend       = "backend"
	FlagRetry         = "retry-window"
	FlagCheckpointKey = "checkpoint-key"
	FlagStrict        = "strict"
	FlagJSON          = "json"
	FlagJQ            = "jq"
	FlagTemplate      = "template"
	FlagQuiet         = "quiet"
	FlagVerbose       = "verbose"
)

// EnvConfig names the environment variable that selects the config file.
const EnvConfig = "ARTSTORE_CONFIG"

// Setting describes one top-level setting: where it can be set and what it
// means. The table drives flag registration, environment binding, error
// messages and the documentation test.
type Setting struct {
	Key     string // config file key; "" when the setting cannot be in the file
	Flag    string // global flag name; "" when there is none
	Short   string // one-letter flag shorthand, if any
	Env     string // environment variable; "" when there is none
	Default string // the default, as documentation prints it
	Usage   string // one line: what it means; a `WORD` in backquotes names the flag's value
	Bool    bool   // a boolean switch
	InFile  bool   // accepted in the config file
}

// Settings returns the table of top-level settings, in documentation order.
// Backend entries (backends.<id>.*) are described by BackendFields.
func Settings() []Setting {
	return []Setting{
		{Flag: FlagConfig, Env: EnvConfig, Default: "$XDG_CONFIG_HOME/artstore/config.yaml",
			Usage: "read configuration from `FILE` (default $XDG_CONFIG_HOME/artstore/config.yaml)"},
		{Key: KeyStore, Flag: FlagStore, Env: "ARTSTORE_STORE", Default: "$XDG_DATA_HOME/artstore", InFile: true,
			Usage: "local store directory `DIR` (default $XDG_DATA_HOME/artstore)"},
		{Key: KeyServer, Flag: FlagServer, Env: "ARTSTORE_SERVER", Default: "(none: local mode)", InFile: true,
			Usage: "`URL` of an artstore daemon; empty means local mode"},
		{Key: KeyToken, Env: "ARTSTORE_TOKEN", Default: "(none)", InFile: true,
			Usage: "bearer token for the daemon (never a flag: flags show up in process lists)"},
		{Key: KeyDefaultBackend, Flag: FlagBackend, Env: "ARTSTORE_BACKEND", Default: "default", InFile: true,
			Usage: "use the configured storage backend `ID`"},
		{Key: KeyRetrievalRecords, Env: "ARTSTORE_RETRIEVAL_RECORDS", Default: "true", InFile: true, Bool: true,
			Usage: "record every pull in the event log in local mode"},
		{Key: KeyRetryWindow, Flag: FlagRetry, Env: "ARTSTORE_RETRY_WINDOW", Default: "60s", InFile: true,
			Usage: "in remote mode, keep retrying for `DURATION` while the daemon is unreachable or unavailable (0: no retries)"},
		{Key: KeyCheckpointKey, Flag: FlagCheckpointKey, Env: "ARTSTORE_CHECKPOINT_KEY", Default: "$STORE/checkpoint.key", InFile: true,
			Usage: "the store's checkpoint signing key `FILE` (local mode and serve; created, mode 0600, when missing)"},
		{Key: KeyStrict, Flag: FlagStrict, Env: "ARTSTORE_STRICT_CHECKPOINTS", Default: "false", InFile: true, Bool: true,
			Usage: "in remote mode, fail (exit 4) when the daemon's log is not an extension of the one it showed before"},
		{Key: KeyJSON, Flag: FlagJSON, Env: "ARTSTORE_JSON", Default: "false", Bool: true,
			Usage: "print machine-readable JSON instead of text"},
		{Key: KeyJQ, Flag: FlagJQ, Default: "(none)",
			Usage: "filter the JSON output with the jq `EXPRESSION` (implies --json)"},
		{Key: KeyTemplate, Flag: FlagTemplate, Default: "(none)",
			Usage: "format the JSON output with the Go `TEMPLATE` (implies --json)"},
		{Key: KeyQuiet, Flag: FlagQuiet, Short: "q", Env: "ARTSTORE_QUIET", Default: "false", Bool: true,
			Usage: "print only errors and requested data; no progress"},
		{Key: KeyVerbose, Flag: FlagVerbose, Short: "v", Env: "ARTSTORE_VERBOSE", Default: "false", Bool: true,
			Usage: "print diagnostics about what artstore is doing to stderr"},
	}
}

// BackendField describes one field of a backend entry in the config file.
type BackendField struct {
	Name  string // key under backends.<id>
	Kind  string // "string", "bool", "size", "int", "duration"
	Types string // backend types it applies to: "local", "s3" or "all"
	Usage string
}

// BackendFields returns the fields a backend entry may have.
func BackendFields() []BackendField {
	return []BackendField{
		{"type", "string", "all", "backend type: local or s3"},
		{"root", "string", "local", "directory holding the blobs (absolute, or starting with ~/)"},
		{"bucket", "string", "s3", "bucket name"},
		{"prefix", "string", "s3", "key prefix inside the bucket, e.g. artstore/"},
		{"region", "string", "s3", "bucket region (default: from the AWS environment)"},
		{"endpoint", "string", "s3", "endpoint URL for S3-compatible stores, e.g. http://127.0.0.1:7480"},
		{"path_style", "bool", "s3", "address the bucket in the path rather than the host name"},
		{"access_key_id", "string", "s3", "access key; empty: the standard AWS credential chain"},
		{"secret_access_key", "string", "s3", "secret key (set together with access_key_id)"},
		{"session_token", "string", "s3", "session token for temporary credentials"},
		{"multipart_threshold", "size", "s3", "objects at least this large use multipart upload (e.g. 64MiB)"},
		{"part_size", "size", "s3", "multipart part size, at least 5MiB"},
		{"concurrency", "int", "s3", "parts uploaded in parallel per object"},
		{"timeout", "duration", "s3", "bound on each request, e.g. 30s"},
	}
}

// ServeFields returns the names of the daemon's settings the config file
// may hold under serve:. Each is also an `artstore serve` flag, spelt with
// - for _ (ServeFlag), which wins over the file. --ready-file stays a flag
// only: it belongs to one run. Defaults and meanings are the flags'.
func ServeFields() []string {
	return []string{"listen", "log", "tls_cert", "tls_key", "max_body", "log_format",
		"drain", "retention_interval", "gc_interval", "gc_grace",
		"oci", "oci_anonymous_pull", "oci_upload_dir", "oci_upload_expiry", "proxy_blobs"}
}

// ServeFlag returns the serve flag that overrides a serve: field.
func ServeFlag(field string) string { return strings.ReplaceAll(field, "_", "-") }

func settingByKey(key string) (Setting, bool) {
	if key == "" {
		return Setting{}, false
	}
	for _, s := range Settings() {
		if s.Key == key {
			return s, true
		}
	}
	return Setting{}, false
}

// fileKeys lists the top-level keys the config file accepts, sorted.
func fileKeys() []string {
	keys := []string{KeyBackends, KeyServe, KeyTags}
	for _, s := range Settings() {
		if s.InFile {
			keys = append(keys, s.Key)
		}
	}
	sort.Strings(keys)
	return keys
}

// PlainUsage is the usage text without the backquotes that name a flag's value.
func (s Setting) PlainUsage() string { return strings.ReplaceAll(s.Usage, "`", "") }

// RegisterFlags defines the global flags (--config, --store, --server,
// --backend, --json, --jq, --template, --quiet, --verbose) on fs. Load reads them back from
// the same FlagSet. Defaults shown in help are fixed strings, so generated
// documentation does not depend on the machine.
func RegisterFlags(fs *pflag.FlagSet) {
	for _, s := range Settings() {
		if s.Flag == "" {
			continue
		}
		if s.Bool {
			fs.BoolP(s.Flag, s.Short, false, s.Usage)
			continue
		}
		fs.StringP(s.Flag, s.Short, "", s.Usage)
	}
}
