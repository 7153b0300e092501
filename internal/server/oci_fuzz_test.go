package server

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/app"
)

// FuzzParseOCIPath: any path either parses to an operation whose name and
// reference rebuild the path, or is refused; never a panic.
func FuzzParseOCIPath(f *testing.F) {
	for _, s := range []string{"/v2/", "/v2/a/b/blobs/sha256:" + strings.Repeat("a", 64), "/v2/a/blobs/uploads/",
		"/v2/a/blobs/uploads/abc", "/v2/a/manifests/latest", "/v2/a/tags/list", "/v2/a/referrers/sha256:x",
		"/v2/blobs/blobs/uploads/blobs", "/v2//blobs/x", "/v2/a/blobs/", "/v1/x", "/v2/_catalog", "/v2/_catalog/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got, ok := parseOCIPath(p)
		if !ok {
			return
		}
		var rebuilt string
		switch got.op {
		case ociPing:
			if p != "/v2/" && p != "/v2" {
				t.Fatalf("%q parsed as the ping", p)
			}
			return
		case ociCatalog:
			if p != "/v2/_catalog" {
				t.Fatalf("%q parsed as the catalog", p)
			}
			return
		case ociTags:
			rebuilt = "/v2/" + got.name + "/tags/list"
		case ociUploadStart:
			rebuilt = "/v2/" + got.name + "/blobs/uploads/"
		case ociUploadStatus:
			rebuilt = "/v2/" + got.name + "/blobs/uploads/" + got.ref
		case ociBlobGet:
			rebuilt = "/v2/" + got.name + "/blobs/" + got.ref
		case ociManifestGet:
			rebuilt = "/v2/" + got.name + "/manifests/" + got.ref
		case ociReferrers:
			rebuilt = "/v2/" + got.name + "/referrers/" + got.ref
		default:
			t.Fatalf("%q: operation %d", p, got.op)
		}
		if rebuilt != p || got.name == "" {
			t.Fatalf("%q parsed as %+v, which rebuilds %q", p, got, rebuilt)
		}
	})
}

// FuzzParseContentRange: an accepted range is ordered, non-negative and
// prints back as the start-end form.
func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"0-0", "0-1999", "bytes 5-9/10", "bytes 5-9/*", "9-5", "-1-2", "a-b", "1-", "99999999999999999999-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, b, err := parseContentRange(s)
		if err != nil {
			return
		}
		if a < 0 || b < a {
			t.Fatalf("%q: range %d-%d", s, a, b)
		}
		again, err := func() (string, error) {
			x, y, err := parseContentRange(fmt.Sprintf("%d-%d", a, b))
			return fmt.Sprintf("%d-%d", x, y), err
		}()
		if err != nil || again != fmt.Sprintf("%d-%d", a, b) {
			t.Fatalf("%q: %d-%d does not parse back: %v", s, a, b, err)
		}
	})
}

// FuzzParseOCIDigest: accepted digests are canonical (they print back
// as given).
func FuzzParseOCIDigest(f *testing.F) {
	for _, s := range []string{"sha256:" + strings.Repeat("a", 64), "sha512:" + strings.Repeat("0", 128), "sha256:ABC", "md5:00", ":", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseOCIDigest(s)
		if err != nil {
			return
		}
		if d.String() != s {
			t.Fatalf("%q parsed as %q", s, d)
		}
	})
}

// FuzzOCICredentials: Basic credentials give back their password, Bearer
// its token, anything else an error; never a panic.
func FuzzOCICredentials(f *testing.F) {
	f.Add("Basic "+base64.StdEncoding.EncodeToString([]byte("u:art_x")), "u", "art_x")
	f.Add("Bearer art_y", "", "")
	f.Add("Digest z", "", "")
	f.Fuzz(func(t *testing.T, h, user, pass string) {
		_, _, _ = ociCredentials(h)
		if strings.Contains(user, ":") || pass == "" {
			return
		}
		got, present, err := ociCredentials("Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
		if err != nil || !present || got != pass {
			t.Fatalf("Basic %q:%q gave %q, %v, %v", user, pass, got, present, err)
		}
	})
}

// ociNameRE is the distribution spec's repository name grammar.
var ociNameRE = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)

// FuzzValidateOCIName: the hand-written check agrees with the spec's
// regular expression (within artstore's length limit).
func FuzzValidateOCIName(f *testing.F) {
	for _, s := range []string{"a", "a/b", "a__b", "a___b", "a--b", "a.-b", "a/", "/a", "A", "a.b_c-d/e", "a..b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 255 {
			return
		}
		got := app.ValidateOCIName(s) == nil
		if want := ociNameRE.MatchString(s); got != want {
			t.Fatalf("app.ValidateOCIName(%q) accepts = %v, the spec's grammar says %v", s, got, want)
		}
	})
}
