// Package api holds artstore's wire types: the JSON shapes of the daemon's
// HTTP API (docs/http-api.md) and of the CLI's --json output
// (docs/cli-json.md). Both the daemon (internal/server) and the client
// library (pkg/client) use them, so the package imports nothing else of the
// module. Field names are stable: add fields, never rename or repurpose
// them.
package api
