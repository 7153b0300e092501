package server

import (
	"errors"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/pkg/api"
)

// classify maps an error to its HTTP status and API code. The class is
// the application layer's (app.Classify), the one table local mode uses
// too; pkg/client's Remote maps the codes back through api.Code.Err. An
// error no class matches is an internal error.
func classify(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var mb *registry.MissingBlobsError
	if errors.As(err, &mb) {
		e := codeErr(api.CodeMissingBlobs, err.Error())
		for _, d := range mb.Digests {
			e.digests = append(e.digests, d.String())
		}
		return e
	}
	code := app.Classify(err)
	if code == "" {
		return codeErr(api.CodeInternal, "internal error: "+err.Error())
	}
	return codeErr(code, err.Error())
}

// blobErr classifies an error of a route that names a blob by digest and
// nothing else: there a missing blob is "not found", where everywhere else
// (an artifact resolved, but its bytes are gone) it is an integrity
// failure.
func blobErr(err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return codeErr(api.CodeNotFound, err.Error())
	}
	return err
}

// codeErr is the API error of class code: its HTTP status is the one
// pkg/api's table gives the code.
func codeErr(code api.Code, msg string) *apiError {
	return &apiError{status: code.Status(), code: string(code), msg: msg}
}
