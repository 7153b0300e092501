package api

import (
	"errors"
	"net/http"
)

// Errors callers branch on, with errors.Is. Local mode returns them
// wrapping the error of the layer below; a remote client maps the daemon's
// wire Code back to them (Code.Err).
var (
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("conflict")
	ErrInvalid   = errors.New("invalid input")
	ErrIntegrity = errors.New("integrity check failed")
	// ErrForbidden: refused by retention (legal hold, WORM) or by a token's scope.
	ErrForbidden    = errors.New("forbidden")
	ErrUnavailable  = errors.New("unavailable")
	ErrUnauthorized = errors.New("unauthorized")
)

// Code is the machine-readable code of an API error (ErrorBody.Code).
type Code string

// The API's error codes.
const (
	CodeNotFound            Code = "not_found"
	CodeConflict            Code = "conflict"
	CodeMissingBlobs        Code = "missing_blobs"
	CodeInvalid             Code = "invalid"
	CodeDigestMismatch      Code = "digest_mismatch"
	CodeTooLarge            Code = "too_large"
	CodeUnauthorized        Code = "unauthorized"
	CodeForbidden           Code = "forbidden"
	CodeGone                Code = "gone"
	CodeRangeNotSatisfiable Code = "range_not_satisfiable"
	CodeBusy                Code = "busy"
	CodeUnavailable         Code = "unavailable"
	CodeIntegrity           Code = "integrity"
	CodeInternal            Code = "internal"
)

// codeClass is what a Code means: the HTTP status the daemon answers with
// and the sentinel a client maps it back to (nil: none).
type codeClass struct {
	status int
	err    error
}

// codeTable is the one table of error classes (docs/http-api.md lists
// it). A missing blob and a digest mismatch are integrity failures for a
// caller; busy (nothing was appended, retry), unavailable and an internal
// error are all unavailability of the daemon; gone (a retired route) has
// no sentinel.
func codeTable() map[Code]codeClass {
	return map[Code]codeClass{
		CodeNotFound:            {http.StatusNotFound, ErrNotFound},
		CodeConflict:            {http.StatusConflict, ErrConflict},
		CodeMissingBlobs:        {http.StatusConflict, ErrIntegrity},
		CodeInvalid:             {http.StatusBadRequest, ErrInvalid},
		CodeDigestMismatch:      {http.StatusBadRequest, ErrIntegrity},
		CodeTooLarge:            {http.StatusRequestEntityTooLarge, ErrInvalid},
		CodeUnauthorized:        {http.StatusUnauthorized, ErrUnauthorized},
		CodeForbidden:           {http.StatusForbidden, ErrForbidden},
		CodeGone:                {http.StatusGone, nil},
		CodeRangeNotSatisfiable: {http.StatusRequestedRangeNotSatisfiable, ErrInvalid},
		CodeBusy:                {http.StatusServiceUnavailable, ErrUnavailable},
		CodeUnavailable:         {http.StatusServiceUnavailable, ErrUnavailable},
		CodeIntegrity:           {http.StatusInternalServerError, ErrIntegrity},
		CodeInternal:            {http.StatusInternalServerError, ErrUnavailable},
	}
}

// Codes lists every error code.
func Codes() []Code {
	return []Code{CodeNotFound, CodeConflict, CodeMissingBlobs, CodeInvalid, CodeDigestMismatch, CodeTooLarge,
		CodeUnauthorized, CodeForbidden, CodeGone, CodeRangeNotSatisfiable, CodeBusy, CodeUnavailable, CodeIntegrity, CodeInternal}
}

// Status is the HTTP status the daemon answers c with (500 for an unknown
// code).
func (c Code) Status() int {
	if k, ok := codeTable()[c]; ok {
		return k.status
	}
	return http.StatusInternalServerError
}

// Err is the sentinel a client maps c back to; nil for gone and unknown
// codes.
func (c Code) Err() error { return codeTable()[c].err }

// CodeForStatus is the code of an error response that carries none (a
// proxy's answer): "" when the status says nothing more than its class.
func CodeForStatus(status int) Code {
	switch status {
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusUnauthorized:
		return CodeUnauthorized
	case http.StatusForbidden:
		return CodeForbidden
	case http.StatusRequestedRangeNotSatisfiable:
		return CodeRangeNotSatisfiable
	}
	return ""
}

// Exit statuses the sentinels map to (the CLI's documented exit codes).
const (
	ExitError       = 1
	ExitUsage       = 2
	ExitNotFound    = 3
	ExitIntegrity   = 4
	ExitConflict    = 5
	ExitUnavailable = 6
	ExitForbidden   = 7
)

// ExitCode is the exit status for err by the sentinel it matches: invalid
// input is a usage error; anything else unclassified is ExitError. Integrity
// comes before not-found: a missing blob of an existing artifact matches
// ErrIntegrity and must not read as "no such artifact".
func ExitCode(err error) int {
	switch {
	case errors.Is(err, ErrInvalid):
		return ExitUsage
	case errors.Is(err, ErrIntegrity):
		return ExitIntegrity
	case errors.Is(err, ErrNotFound):
		return ExitNotFound
	case errors.Is(err, ErrConflict):
		return ExitConflict
	case errors.Is(err, ErrUnavailable):
		return ExitUnavailable
	case errors.Is(err, ErrForbidden), errors.Is(err, ErrUnauthorized):
		return ExitForbidden
	}
	return ExitError
}
