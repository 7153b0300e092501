package server

import (
	"net/http"
	"net/url"
	"reflect"
	"testing"

	"github.com/artifact-store/artstore/pkg/api"
)

// TestComplete: GET /v1/complete answers names by prefix (a directory as
// "dir/"), versions newest first and tags after "name:", and shows a token
// limited to a prefix only its names and the directories on the way to it.
func TestComplete(t *testing.T) {
	e := newEnv(t)
	e.register("other/secret", []byte("s"))
	e.register("team/own", []byte("1"))
	e.register("team/own", []byte("2"))
	e.register("team/sub/x", []byte("x"))
	for _, tt := range []struct {
		role, ref string
		want      []string
	}{
		{"read", "", []string{"other/", "team/"}},
		{"read", "team/", []string{"team/own", "team/sub/"}},
		{"read", "team/own:", []string{"team/own:2", "team/own:1", "team/own:latest"}},
		{"read", "team/own:l", []string{"team/own:latest"}},
		{"read", "nothing", []string{}},
		{"prefixed", "", []string{"team/"}},
		{"prefixed", "t", []string{"team/"}},
		{"prefixed", "team/", []string{"team/own", "team/sub/"}},
	} {
		var got api.Completions
		e.doJSON("GET", "/v1/complete?ref="+url.QueryEscape(tt.ref), tt.role, nil, http.StatusOK, &got)
		if !reflect.DeepEqual(got.Candidates, tt.want) {
			t.Errorf("%s %q: %q, want %q", tt.role, tt.ref, got.Candidates, tt.want)
		}
	}
	var got api.Completions
	e.doJSON("GET", "/v1/complete?ref=&limit=1", "read", nil, http.StatusOK, &got)
	if !reflect.DeepEqual(got.Candidates, []string{"other/"}) {
		t.Errorf("limit 1: %q", got.Candidates)
	}
	e.doJSON("GET", "/v1/complete?ref=&limit=0", "read", nil, http.StatusBadRequest, nil)
}
