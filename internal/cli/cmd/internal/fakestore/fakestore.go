// Package fakestore is a client.Store for command tests: each method calls
// the function field of the same name, and fails the test-visible way
// (ErrNotConfigured) when that field is nil. It records whether Close was
// called.
package fakestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/pkg/client"
)

// ErrNotConfigured is returned by a method whose function field is nil.
var ErrNotConfigured = errors.New("fakestore: method not configured")

// Store is a configurable fake client.Store.
type Store struct {
	PushFunc         func(ctx context.Context, req client.PushRequest) (*client.PushResult, error)
	PullFunc         func(ctx context.Context, ref string, w io.Writer, opts client.PullOptions) (*client.PullResult, error)
	PullToPathFunc   func(ctx context.Context, ref, path string, opts client.PullOptions) (*client.PullResult, error)
	GetFunc          func(ctx context.Context, ref string) (*client.Artifact, error)
	FilesFunc        func(ctx context.Context, ref string, fn func(client.TreeEntry) error) error
	RepairFunc       func(ctx context.Context, req client.RepairRequest) (*client.RepairResult, error)
	ListFunc         func(ctx context.Context, q client.Query) (*client.Page, error)
	TagFunc          func(ctx context.Context, ref, tag string) (*client.Artifact, error)
	LabelFunc        func(ctx context.Context, ref string, set map[string]string, remove []string) (*client.Artifact, error)
	LineageFunc      func(ctx context.Context, ref string, opts client.LineageOptions) (*client.LineageGraph, error)
	DeleteFunc       func(ctx context.Context, ref string) (*client.Artifact, error)
	SetRetentionFunc func(ctx context.Context, ref string, req client.RetentionRequest) (*client.Artifact, error)
	HoldFunc         func(ctx context.Context, ref, reason string) (*client.Artifact, error)
	ReleaseFunc      func(ctx context.Context, ref string) (*client.Artifact, error)
	EventsFunc       func(ctx context.Context, after int64, limit int, wait time.Duration) ([]client.Event, error)
	VerifyLogFunc    func(ctx context.Context) (*client.LogReport, error)
	LogKeyFunc       func(ctx context.Context) (*client.LogKey, error)
	CheckpointFunc   func(ctx context.Context) (*client.Checkpoint, error)
	InclusionFunc    func(ctx context.Context, seq, size int64) (*client.InclusionProof, error)
	ConsistencyFunc  func(ctx context.Context, old, new int64) (*client.ConsistencyProof, error)
	ImportFunc       func(ctx context.Context, r io.Reader, key string) (*client.ImportResult, error)
	ExportFunc       func(ctx context.Context, req client.ExportRequest, w io.Writer) (*client.ExportSummary, error)
	VerifyFunc       func(ctx context.Context, opts client.VerifyOptions) (*client.VerifyReport, error)
	RebuildFunc      func(ctx context.Context) error
	HealthFunc       func(ctx context.Context) ([]client.BackendHealth, error)
	GCFunc           func(ctx context.Context, opts client.GCOptions) (*client.GCReport, error)

	AddRetentionRuleFunc    func(ctx context.Context, req client.RetentionRuleRequest) (*client.RetentionRule, error)
	RetentionRulesFunc      func(ctx context.Context) ([]client.RetentionRule, error)
	RemoveRetentionRuleFunc func(ctx context.Context, id string) (*client.RetentionRule, error)
	ApplyRetentionFunc      func(ctx context.Context, dryRun bool) (*client.RetentionReport, error)
	ExplainRetentionFunc    func(ctx context.Context, ref string) (*client.RetentionExplanation, error)
	AuditFunc               func(ctx context.Context, q client.AuditQuery) ([]client.Event, error)

	// Closed is set by Close.
	Closed bool
}

var _ client.Store = (*Store)(nil)

func missing(method string) error { return fmt.Errorf("%w: %s", ErrNotConfigured, method) }

// Opener returns a Factory.Client-shaped function returning s.
func (s *Store) Opener() func(context.Context) (client.Store, error) {
	return func(context.Context) (client.Store, error) { return s, nil }
}

// Push calls PushFunc.
func (s *Store) Push(ctx context.Context, req client.PushRequest) (*client.PushResult, error) {
	if s.PushFunc == nil {
		return nil, missing("Push")
	}
	return s.PushFunc(ctx, req)
}

// Pull calls PullFunc.
func (s *Store) Pull(ctx context.Context, ref string, w io.Writer, opts client.PullOptions) (*client.PullResult, error) {
	if s.PullFunc == nil {
		return nil, missing("Pull")
	}
	return s.PullFunc(ctx, ref, w, opts)
}

// PullToPath calls PullToPathFunc.
func (s *Store) PullToPath(ctx context.Context, ref, path string, opts client.PullOptions) (*client.PullResult, error) {
	if s.PullToPathFunc == nil {
		return nil, missing("PullToPath")
	}
	return s.PullToPathFunc(ctx, ref, path, opts)
}

// Get calls GetFunc.
func (s *Store) Get(ctx context.Context, ref string) (*client.Artifact, error) {
	if s.GetFunc == nil {
		return nil, missing("Get")
	}
	return s.GetFunc(ctx, ref)
}

// List calls ListFunc.
func (s *Store) List(ctx context.Context, q client.Query) (*client.Page, error) {
	if s.ListFunc == nil {
		return nil, missing("List")
	}
	return s.ListFunc(ctx, q)
}

// Tag calls TagFunc.
func (s *Store) Tag(ctx context.Context, ref, tag string) (*client.Artifact, error) {
	if s.TagFunc == nil {
		return nil, missing("Tag")
	}
	return s.TagFunc(ctx, ref, tag)
}

// Label calls LabelFunc.
func (s *Store) Label(ctx context.Context, ref string, set map[string]string, remove []string) (*client.Artifact, error) {
	if s.LabelFunc == nil {
		return nil, missing("Label")
	}
	return s.LabelFunc(ctx, ref, set, remove)
}

// Repair calls RepairFunc.
func (s *Store) Repair(ctx context.Context, req client.RepairRequest) (*client.RepairResult, error) {
	if s.RepairFunc == nil {
		return nil, missing("Repair")
	}
	return s.RepairFunc(ctx, req)
}

// Files calls FilesFunc.
func (s *Store) Files(ctx context.Context, ref string, fn func(client.TreeEntry) error) error {
	if s.FilesFunc == nil {
		return missing("Files")
	}
	return s.FilesFunc(ctx, ref, fn)
}

// Lineage calls LineageFunc.
func (s *Store) Lineage(ctx context.Context, ref string, opts client.LineageOptions) (*client.LineageGraph, error) {
	if s.LineageFunc == nil {
		return nil, missing("Lineage")
	}
	return s.LineageFunc(ctx, ref, opts)
}

// Delete calls DeleteFunc.
func (s *Store) Delete(ctx context.Context, ref string) (*client.Artifact, error) {
	if s.DeleteFunc == nil {
		return nil, missing("Delete")
	}
	return s.DeleteFunc(ctx, ref)
}

// SetRetention calls SetRetentionFunc.
func (s *Store) SetRetention(ctx context.Context, ref string, req client.RetentionRequest) (*client.Artifact, error) {
	if s.SetRetentionFunc == nil {
		return nil, missing("SetRetention")
	}
	return s.SetRetentionFunc(ctx, ref, req)
}

// Hold calls HoldFunc.
func (s *Store) Hold(ctx context.Context, ref, reason string) (*client.Artifact, error) {
	if s.HoldFunc == nil {
		return nil, missing("Hold")
	}
	return s.HoldFunc(ctx, ref, reason)
}

// Release calls ReleaseFunc.
func (s *Store) Release(ctx context.Context, ref string) (*client.Artifact, error) {
	if s.ReleaseFunc == nil {
		return nil, missing("Release")
	}
	return s.ReleaseFunc(ctx, ref)
}

// Events calls EventsFunc.
func (s *Store) Events(ctx context.Context, after int64, limit int, wait time.Duration) ([]client.Event, error) {
	if s.EventsFunc == nil {
		return nil, missing("Events")
	}
	return s.EventsFunc(ctx, after, limit, wait)
}

// VerifyLog calls VerifyLogFunc.
func (s *Store) VerifyLog(ctx context.Context) (*client.LogReport, error) {
	if s.VerifyLogFunc == nil {
		return nil, missing("VerifyLog")
	}
	return s.VerifyLogFunc(ctx)
}

// LogKey calls LogKeyFunc.
func (s *Store) LogKey(ctx context.Context) (*client.LogKey, error) {
	if s.LogKeyFunc == nil {
		return nil, missing("LogKey")
	}
	return s.LogKeyFunc(ctx)
}

// Checkpoint calls CheckpointFunc.
func (s *Store) Checkpoint(ctx context.Context) (*client.Checkpoint, error) {
	if s.CheckpointFunc == nil {
		return nil, missing("Checkpoint")
	}
	return s.CheckpointFunc(ctx)
}

// InclusionProof calls InclusionFunc.
func (s *Store) InclusionProof(ctx context.Context, seq, size int64) (*client.InclusionProof, error) {
	if s.InclusionFunc == nil {
		return nil, missing("InclusionProof")
	}
	return s.InclusionFunc(ctx, seq, size)
}

// ConsistencyProof calls ConsistencyFunc.
func (s *Store) ConsistencyProof(ctx context.Context, old, new int64) (*client.ConsistencyProof, error) {
	if s.ConsistencyFunc == nil {
		return nil, missing("ConsistencyProof")
	}
	return s.ConsistencyFunc(ctx, old, new)
}

// Import calls ImportFunc.
func (s *Store) Import(ctx context.Context, r io.Reader, key string) (*client.ImportResult, error) {
	if s.ImportFunc == nil {
		return nil, missing("Import")
	}
	return s.ImportFunc(ctx, r, key)
}

// Export calls ExportFunc.
func (s *Store) Export(ctx context.Context, req client.ExportRequest, w io.Writer) (*client.ExportSummary, error) {
	if s.ExportFunc == nil {
		return nil, missing("Export")
	}
	return s.ExportFunc(ctx, req, w)
}

// Verify calls VerifyFunc.
func (s *Store) Verify(ctx context.Context, opts client.VerifyOptions) (*client.VerifyReport, error) {
	if s.VerifyFunc == nil {
		return nil, missing("Verify")
	}
	return s.VerifyFunc(ctx, opts)
}

// Rebuild calls RebuildFunc.
func (s *Store) Rebuild(ctx context.Context) error {
	if s.RebuildFunc == nil {
		return missing("Rebuild")
	}
	return s.RebuildFunc(ctx)
}

// Health calls HealthFunc.
func (s *Store) Health(ctx context.Context) ([]client.BackendHealth, error) {
	if s.HealthFunc == nil {
		return nil, missing("Health")
	}
	return s.HealthFunc(ctx)
}

// GC calls GCFunc.
func (s *Store) GC(ctx context.Context, opts client.GCOptions) (*client.GCReport, error) {
	if s.GCFunc == nil {
		return nil, missing("GC")
	}
	return s.GCFunc(ctx, opts)
}

// AddRetentionRule calls AddRetentionRuleFunc.
func (s *Store) AddRetentionRule(ctx context.Context, req client.RetentionRuleRequest) (*client.RetentionRule, error) {
	if s.AddRetentionRuleFunc == nil {
		return nil, missing("AddRetentionRule")
	}
	return s.AddRetentionRuleFunc(ctx, req)
}

// RetentionRules calls RetentionRulesFunc.
func (s *Store) RetentionRules(ctx context.Context) ([]client.RetentionRule, error) {
	if s.RetentionRulesFunc == nil {
		return nil, missing("RetentionRules")
	}
	return s.RetentionRulesFunc(ctx)
}

// RemoveRetentionRule calls RemoveRetentionRuleFunc.
func (s *Store) RemoveRetentionRule(ctx context.Context, id string) (*client.RetentionRule, error) {
	if s.RemoveRetentionRuleFunc == nil {
		return nil, missing("RemoveRetentionRule")
	}
	return s.RemoveRetentionRuleFunc(ctx, id)
}

// ApplyRetention calls ApplyRetentionFunc.
func (s *Store) ApplyRetention(ctx context.Context, dryRun bool) (*client.RetentionReport, error) {
	if s.ApplyRetentionFunc == nil {
		return nil, missing("ApplyRetention")
	}
	return s.ApplyRetentionFunc(ctx, dryRun)
}

// ExplainRetention calls ExplainRetentionFunc.
func (s *Store) ExplainRetention(ctx context.Context, ref string) (*client.RetentionExplanation, error) {
	if s.ExplainRetentionFunc == nil {
		return nil, missing("ExplainRetention")
	}
	return s.ExplainRetentionFunc(ctx, ref)
}

// Audit calls AuditFunc.
func (s *Store) Audit(ctx context.Context, q client.AuditQuery) ([]client.Event, error) {
	if s.AuditFunc == nil {
		return nil, missing("Audit")
	}
	return s.AuditFunc(ctx, q)
}

// Close records the call.
func (s *Store) Close() error {
	s.Closed = true
	return nil
}

// Artifact returns a populated artifact for tests: name:version with a
// fixed ID, digests, size and creation time.
func Artifact(name, version string) client.Artifact {
	created := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	return client.Artifact{
		ID: "01JDQ0000000000000000000" + fmt.Sprintf("%02d", len(name)%100), Name: name, Version: version,
		Ref: name + ":" + version, Kind: "file",
		ContentDigest:  "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
		ManifestDigest: "sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9",
		Size:           1536, MediaType: "application/pdf",
		Labels: map[string]string{}, Tags: []string{"latest"},
		CreatedAt: created, CreatedBy: "alice@host",
	}
}

// Config returns a Config loader for command tests: an otherwise empty
// configuration with --json set to jsonOut.
func Config(jsonOut bool) func() (*config.Config, error) {
	return func() (*config.Config, error) { return &config.Config{Output: config.Output{JSON: jsonOut}}, nil }
}

// ConfigOutput returns a Config loader for command tests: an otherwise
// empty configuration with the output switches out.
func ConfigOutput(out config.Output) func() (*config.Config, error) {
	return func() (*config.Config, error) { return &config.Config{Output: out}, nil }
}

// Execute runs cmd with args as the root would (flag errors become usage
// errors) and returns its error.
func Execute(cmd *cobra.Command, args ...string) error {
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cmdutil.FlagErrorWrap(err) })
	return cmd.Execute()
}
