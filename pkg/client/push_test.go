package client

import (
	"errors"
	"testing"
)

func TestCheckMediaType(t *testing.T) {
	for mt, ok := range map[string]bool{
		"":                            true,
		"application/pdf":             true,
		"text/plain; charset=utf-8":   true,
		"bad":                         false, // was accepted: ParseMediaType allows a bare type
		"text/":                       false,
		"/plain":                      false,
		"a b/c":                       false,
		TreeMediaType:                 false,
		"application/vnd.x+json; v=1": true,
	} {
		err := checkMediaType(mt)
		if (err == nil) != ok {
			t.Errorf("checkMediaType(%q) = %v, want ok=%v", mt, err, ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("checkMediaType(%q) = %v, want ErrInvalid", mt, err)
		}
	}
}
