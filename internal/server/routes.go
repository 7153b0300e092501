package server

import (
	"net/http"

	"github.com/artifact-store/artstore/internal/auth"
)

// nameRule says how a route meets a token's name prefix.
type nameRule int

const (
	// namesAll: the route is about no one name and may reveal any (events,
	// log verification, admin, tokens): tokens with a prefix are refused.
	namesAll nameRule = iota
	// namesOwn: the handler checks the artifact name it acts on
	// (call.allow); lists are confined to the prefix.
	namesOwn
	// namesNone: the content-addressed blob writes (PUT, the missing
	// check). Blobs carry no name, and a push under the prefix needs them;
	// they answer only whether a digest the caller names is stored (see
	// docs/architecture.md, "Name prefixes and content addressing"). A
	// token with a prefix needs write scope for them: one that cannot push
	// has no use for them.
	namesNone
	// namesDigestRead: the content-addressed blob reads (GET, HEAD). A
	// digest is not a secret (push output, logs and sha256sum show it), so
	// reading by digest would go around the prefix: tokens with a prefix
	// are refused and read content through the name-checked
	// /v1/artifact/content instead.
	namesDigestRead
)

// route is one entry of the API. The table is the single source of the
// routes, their scopes and name rules: the mux, the metrics and the auth
// table test all walk it.
type route struct {
	Method  string
	Pattern string
	// Scope is the least scope the route needs; Public routes need no
	// token at all.
	Scope  auth.Scope
	Public bool
	Names  nameRule
	// Body is the most of a JSON request body the route reads (0:
	// smallBody), capped by Limits.MaxBody.
	Body int64
	h    handler
	// oci is the /v2 operation of an OCI route (ociNone for /v1): such
	// routes authenticate and answer errors as the OCI spec says.
	oci ociOp
}

// routeTable returns every route of the API.
func (s *Server) routeTable() []route {
	return []route{
		{Method: "GET", Pattern: "/health", Public: true, h: s.handleHealth},
		{Method: "GET", Pattern: "/ready", Public: true, h: s.handleReady},
		{Method: "GET", Pattern: "/metrics", Public: true, h: s.handleMetrics},

		{Method: "HEAD", Pattern: "/v1/blobs/{digest}", Scope: auth.ScopeRead, Names: namesDigestRead, h: s.handleBlobHead},
		{Method: "GET", Pattern: "/v1/blobs/{digest}", Scope: auth.ScopeRead, Names: namesDigestRead, h: s.handleBlobGet},
		{Method: "PUT", Pattern: "/v1/blobs/{digest}", Scope: auth.ScopeWrite, Names: namesNone, h: s.handleBlobPut},
		{Method: "POST", Pattern: "/v1/blobs/missing", Scope: auth.ScopeRead, Names: namesNone, Body: listBody, h: s.handleBlobsMissing},

		{Method: "POST", Pattern: "/v1/artifacts", Scope: auth.ScopeWrite, Names: namesOwn, Body: s.limits.MaxBody, h: s.handleRegister},
		{Method: "GET", Pattern: "/v1/artifacts", Scope: auth.ScopeRead, Names: namesOwn, h: s.handleList},
		{Method: "GET", Pattern: "/v1/artifact", Scope: auth.ScopeRead, Names: namesOwn, h: s.handleGet},
		{Method: "GET", Pattern: "/v1/complete", Scope: auth.ScopeRead, Names: namesOwn, h: s.handleComplete},
		{Method: "DELETE", Pattern: "/v1/artifact", Scope: auth.ScopeWrite, Names: namesOwn, h: s.handleDelete},
		{Method: "GET", Pattern: "/v1/artifact/content", Scope: auth.ScopeRead, Names: namesOwn, h: s.handleContent},
		{Method: "HEAD", Pattern: "/v1/artifact/blobs/{digest}", Scope: auth.ScopeRead, Names: namesOwn, h: s.handleArtifactBlobGet},
		{Method: "GET", Pattern: "/v1/artifact/blobs/{digest}", Scope: auth.ScopeRead, Names: namesOwn, h: s.handleArtifactBlobGet},
		{Method: "POST", Pattern: "/v1/artifact/blobs/missing", Scope: auth.ScopeRead, Names: namesOwn, Body: listBody, h: s.handleArtifactBlobsMissing},
		{Method: "PUT", Pattern: "/v1/artifact/tags/{tag}", Scope: auth.ScopeWrite, Names: namesOwn, h: s.handleTag},
		{Method: "PATCH", Pattern: "/v1/artifact/labels", Scope: auth.ScopeWrite, Names: namesOwn, Body: listBody, h: s.handleLabels},
		{Method: "PUT", Pattern: "/v1/artifact/retention", Scope: auth.ScopeWrite, Names: namesOwn, h: s.handleRetention},
		{Method: "POST", Pattern: "/v1/artifact/holds", Scope: auth.ScopeWrite, Names: namesOwn, h: s.handleHold},
		{Method: "DELETE", Pattern: "/v1/artifact/holds", Scope: auth.ScopeWrite, Names: namesOwn, h: s.handleRelease},
		{Method: "GET", Pattern: "/v1/artifact/retention/explain", Scope: auth.ScopeRead, Names: namesOwn, h: s.handleRetentionExplain},
		{Method: "POST", Pattern: "/v1/artifact/repair/plan", Scope: auth.ScopeWrite, Names: namesOwn, h: s.handleRepairPlan},
		{Method: "POST", Pattern: "/v1/artifact/repair/finish", Scope: auth.ScopeWrite, Names: namesOwn, h: s.handleRepairFinish},
		{Method: "GET", Pattern: "/v1/artifact/files", Scope: auth.ScopeRead, Names: namesOwn, h: s.handleFiles},
		{Method: "GET", Pattern: "/v1/artifact/lineage", Scope: auth.ScopeRead, Names: namesOwn, h: s.handleLineage},
		{Method: "POST", Pattern: "/v1/artifact/pulls", Scope: auth.ScopeRead, Names: namesOwn, h: s.handlePull},
		{Method: "POST", Pattern: "/v1/artifact/pulls/urls", Scope: auth.ScopeRead, Names: namesOwn, h: s.handlePullURLs},
		{Method: "POST", Pattern: "/v1/export", Scope: auth.ScopeRead, Names: namesOwn, Body: listBody, h: s.handleExport},
		{Method: "POST", Pattern: "/v1/retrievals", Scope: auth.ScopeRead, Names: namesOwn, h: s.handleRetrievalGone},

		{Method: "GET", Pattern: "/v1/events", Scope: auth.ScopeRead, Names: namesAll, h: s.handleEvents},
		{Method: "GET", Pattern: "/v1/audit", Scope: auth.ScopeRead, Names: namesAll, h: s.handleAudit},
		{Method: "GET", Pattern: "/v1/log/verify", Scope: auth.ScopeRead, Names: namesAll, h: s.handleVerifyLog},
		{Method: "GET", Pattern: "/v1/log/key", Scope: auth.ScopeRead, Names: namesAll, h: s.handleLogKey},
		{Method: "GET", Pattern: "/v1/log/checkpoint", Scope: auth.ScopeRead, Names: namesAll, h: s.handleCheckpoint},
		{Method: "GET", Pattern: "/v1/log/proof/inclusion", Scope: auth.ScopeRead, Names: namesAll, h: s.handleInclusionProof},
		{Method: "GET", Pattern: "/v1/log/proof/consistency", Scope: auth.ScopeRead, Names: namesAll, h: s.handleConsistencyProof},
		{Method: "POST", Pattern: "/v1/import", Scope: auth.ScopeWrite, Names: namesOwn, h: s.handleImport},
		{Method: "GET", Pattern: "/v1/backends/health", Scope: auth.ScopeRead, Names: namesAll, h: s.handleBackendHealth},
		{Method: "POST", Pattern: "/v1/admin/rebuild", Scope: auth.ScopeAdmin, Names: namesAll, h: s.handleRebuild},
		{Method: "POST", Pattern: "/v1/admin/gc", Scope: auth.ScopeAdmin, Names: namesAll, h: s.handleGC},
		{Method: "POST", Pattern: "/v1/admin/retention/apply", Scope: auth.ScopeAdmin, Names: namesAll, h: s.handleRetentionApply},
		{Method: "GET", Pattern: "/v1/retention/rules", Scope: auth.ScopeRead, Names: namesAll, h: s.handleRuleList},
		{Method: "POST", Pattern: "/v1/retention/rules", Scope: auth.ScopeAdmin, Names: namesAll, h: s.handleRuleAdd},
		{Method: "DELETE", Pattern: "/v1/retention/rules/{id}", Scope: auth.ScopeAdmin, Names: namesAll, h: s.handleRuleRemove},

		{Method: "GET", Pattern: "/v1/tokens", Scope: auth.ScopeAdmin, Names: namesAll, h: s.handleTokenList},
		{Method: "POST", Pattern: "/v1/tokens", Scope: auth.ScopeAdmin, Names: namesAll, h: s.handleTokenCreate},
		{Method: "DELETE", Pattern: "/v1/tokens/{id}", Scope: auth.ScopeAdmin, Names: namesAll, h: s.handleTokenRevoke},
	}
}

// Routes returns the method and pattern of every route, for documentation
// and tests.
func (s *Server) Routes() []string {
	out := make([]string, len(s.routes))
	for i, r := range s.routes {
		out[i] = r.Method + " " + r.Pattern
	}
	return out
}

var _ http.Handler = (*Server)(nil)
