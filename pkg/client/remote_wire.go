package client

import "github.com/artifact-store/artstore/pkg/api"

// Wire types of the daemon's HTTP API, defined in pkg/api (see
// docs/http-api.md).
type (
	ErrorResponse         = api.ErrorResponse
	ErrorBody             = api.ErrorBody
	RegisterRequest       = api.RegisterRequest
	MissingRequest        = api.MissingRequest
	MissingResponse       = api.MissingResponse
	LabelsRequest         = api.LabelsRequest
	RetentionBody         = api.RetentionBody
	HoldRequest           = api.HoldRequest
	PullGrant             = api.PullGrant
	EventsResponse        = api.EventsResponse
	TokenInfo             = api.TokenInfo
	TokenRequest          = api.TokenRequest
	TokenCreated          = api.TokenCreated
	RetentionRule         = api.RetentionRule
	RetentionRuleRequest  = api.RetentionRuleRequest
	Expiry                = api.Expiry
	RetentionReport       = api.RetentionReport
	RetentionApplyRequest = api.RetentionApplyRequest
	RetentionExplanation  = api.RetentionExplanation
	GCRequest             = api.GCRequest
	CollectedBlob         = api.CollectedBlob
	GCReport              = api.GCReport
)
