package app

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strings"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/textfmt"
	"github.com/artifact-store/artstore/pkg/api"
)

// The use cases of the OCI Distribution API (/v2): blobs linked into
// repositories, manifests, tags and referrers, mapped onto artifacts as
// docs/oci.md says. The daemon's /v2 handlers are HTTP adapters over them.

// OCIError is a refusal in the OCI Distribution spec's terms: its error
// code (BLOB_UNKNOWN, MANIFEST_INVALID, ...) and HTTP status. It also
// matches Kind (an api sentinel), so Classify and the CLI's exit codes
// treat it like any other error of that class.
type OCIError struct {
	Status int
	Code   string
	Msg    string
	Kind   error
}

func (e *OCIError) Error() string { return e.Msg }

// Unwrap returns the api sentinel of the error's class.
func (e *OCIError) Unwrap() error { return e.Kind }

func ociErr(status int, code string, kind error, format string, args ...any) error {
	return &OCIError{Status: status, Code: code, Msg: fmt.Sprintf(format, args...), Kind: kind}
}

// OCIDigest is an OCI digest: sha256 or sha512 and its lowercase hex.
type OCIDigest struct {
	Alg, Hex string
}

func (d OCIDigest) String() string { return d.Alg + ":" + d.Hex }

// NewHash returns a hash of the digest's algorithm.
func (d OCIDigest) NewHash() hash.Hash {
	if d.Alg == "sha512" {
		return sha512.New()
	}
	return sha256.New()
}

// Matches reports whether b hashes to d.
func (d OCIDigest) Matches(b []byte) bool {
	h := d.NewHash()
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)) == d.Hex
}

// ociDigestOf returns the digest of b with algorithm alg.
func ociDigestOf(alg string, b []byte) OCIDigest {
	d := OCIDigest{Alg: alg}
	h := d.NewHash()
	h.Write(b)
	d.Hex = hex.EncodeToString(h.Sum(nil))
	return d
}

// Content returns the digest as an artstore content digest (sha256 only).
func (d OCIDigest) Content() (content.Digest, bool) {
	if d.Alg != "sha256" {
		return content.Digest{}, false
	}
	cd, err := content.ParseDigest(d.String())
	return cd, err == nil
}

// ParseOCIDigest parses "sha256:<64 hex>" or "sha512:<128 hex>",
// lowercase; anything else is DIGEST_INVALID.
func ParseOCIDigest(s string) (OCIDigest, error) {
	alg, hx, ok := strings.Cut(s, ":")
	want := map[string]int{"sha256": 64, "sha512": 128}[alg]
	if !ok || want == 0 {
		return OCIDigest{}, ociErr(http.StatusBadRequest, "DIGEST_INVALID", api.ErrInvalid, "digest %q is not sha256:<64 hex> or sha512:<128 hex>", textfmt.Clip(s, 80))
	}
	if len(hx) != want || strings.ToLower(hx) != hx {
		return OCIDigest{}, ociErr(http.StatusBadRequest, "DIGEST_INVALID", api.ErrInvalid, "digest %q: want %d lowercase hex characters", textfmt.Clip(s, 80), want)
	}
	if _, err := hex.DecodeString(hx); err != nil {
		return OCIDigest{}, ociErr(http.StatusBadRequest, "DIGEST_INVALID", api.ErrInvalid, "digest %q is not hex", textfmt.Clip(s, 80))
	}
	return OCIDigest{Alg: alg, Hex: hx}, nil
}

func blobUnknown(repo string, d OCIDigest) error {
	return ociErr(http.StatusNotFound, "BLOB_UNKNOWN", api.ErrNotFound, "repository %s has no blob %s", repo, d)
}

// ociEmptyJSON is the OCI empty descriptor's content ("{}"), which every
// repository serves: native artifacts are served with it as their config.
var ociEmptyJSON = []byte("{}")

const ociEmptyDigest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

// OCIBlobStat returns blob d of repository repo as p may read it: a blob
// linked there (uploaded or mounted through /v2), else the content of a
// native artifact of repo (a file artifact's content, a file of a
// directory artifact), whose bytes are still stored. Anything else is
// BLOB_UNKNOWN. The empty JSON blob ("{}") is served by every repository
// p may read; its Manifest is zero and the caller sends OCIEmptyJSON.
func (s *Service) OCIBlobStat(ctx context.Context, p Principal, repo string, d OCIDigest) (OCIBlob, error) {
	if err := p.Allow(repo); err != nil {
		return OCIBlob{}, err
	}
	// What memory holds first: a miss re-reads the log.
	b, ok := s.links.get(repo, d.String())
	if !ok {
		b, ok = s.native.blob(repo, d.String())
	}
	var err error
	if !ok {
		if b, ok, err = s.links.Lookup(ctx, repo, d.String()); err != nil {
			return OCIBlob{}, err
		}
	}
	if !ok {
		if b, ok, err = s.nativeBlob(ctx, repo, d); err != nil {
			return OCIBlob{}, err
		}
	}
	if !ok {
		if d.String() == ociEmptyDigest {
			// The config of every native artifact's manifest.
			has, err := s.hasNative(ctx, repo)
			if err != nil {
				return OCIBlob{}, err
			}
			if has {
				cd, _ := d.Content()
				return OCIBlob{Size: int64(len(ociEmptyJSON)), Content: cd}, nil
			}
		}
		return OCIBlob{}, blobUnknown(repo, d)
	}
	// A linked blob nothing references is collected by gc after its grace
	// window, like any unregistered upload: check the bytes are still there.
	if _, err := s.backend.Head(ctx, b.Manifest); errors.Is(err, storage.ErrNotFound) {
		return OCIBlob{}, blobUnknown(repo, d)
	} else if err != nil {
		return OCIBlob{}, fmt.Errorf("blob %s of %s: %w", d, repo, err)
	}
	return b, nil
}

// OCIEmptyJSON returns the bytes of the empty JSON blob.
func OCIEmptyJSON() []byte { return append([]byte(nil), ociEmptyJSON...) }

// OCILinkBlob records that repo holds blob d, stored as b (the end of an
// upload), with p as the event's actor.
func (s *Service) OCILinkBlob(ctx context.Context, p Principal, repo string, d OCIDigest, b OCIBlob) error {
	if err := p.Allow(repo); err != nil {
		return err
	}
	if err := s.links.Link(ctx, p.Actor, repo, d.String(), b); err != nil {
		return err
	}
	s.notify()
	return nil
}

// OCIUnlinkBlob removes blob d from repo (DELETE of the blob). Its bytes
// stay while anything else references them; gc collects them otherwise.
func (s *Service) OCIUnlinkBlob(ctx context.Context, p Principal, repo string, d OCIDigest) error {
	if err := p.Allow(repo); err != nil {
		return err
	}
	if _, ok, err := s.links.Lookup(ctx, repo, d.String()); err != nil {
		return err
	} else if !ok {
		return blobUnknown(repo, d)
	}
	if err := s.links.Unlink(ctx, p.Actor, repo, d.String()); err != nil {
		return err
	}
	s.notify()
	return nil
}

// OCIMount links blob d of repository from into repo. Without from
// (hasFrom false: an anonymous mount) a blob linked in any repository
// will do, for a principal without a name prefix only (to a prefix, a
// digest is no proof of access). mounted is false when nothing was
// mounted: the caller opens an upload session instead, as the spec says.
func (s *Service) OCIMount(ctx context.Context, p Principal, repo string, d OCIDigest, from string, hasFrom bool) (mounted bool, err error) {
	if err := p.Allow(repo); err != nil {
		return false, err
	}
	if _, ok, err := s.links.Lookup(ctx, repo, d.String()); err != nil || ok {
		return ok, err
	}
	var (
		b  OCIBlob
		ok bool
	)
	switch {
	case hasFrom:
		if ValidateOCIName(from) != nil || p.Allow(from) != nil {
			return false, nil
		}
		if b, ok, err = s.links.Lookup(ctx, from, d.String()); err == nil && !ok {
			b, ok, err = s.nativeBlob(ctx, from, d)
		}
	case p.Prefix == "":
		b, ok, err = s.links.Anywhere(ctx, d.String())
	}
	if err != nil || !ok || b.InStream {
		// A file of a stream-layout tree has no blob of its own to link:
		// the client uploads it.
		return false, err
	}
	if _, err := s.backend.Head(ctx, b.Manifest); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	if err := s.links.Link(ctx, p.Actor, repo, d.String(), b); err != nil {
		return false, err
	}
	s.notify()
	return true, nil
}

// ValidateOCIName checks a repository name against OCI's grammar
// ([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* per segment, segments joined by '/')
// and artstore's; a refusal is NAME_INVALID.
func ValidateOCIName(name string) error {
	bad := func(err error) error {
		return &OCIError{Status: http.StatusBadRequest, Code: "NAME_INVALID", Msg: err.Error(), Kind: api.ErrInvalid}
	}
	if err := registry.ValidateName(name); err != nil {
		return bad(err)
	}
	for _, seg := range strings.Split(name, "/") {
		if !validOCISegment(seg) {
			return bad(fmt.Errorf("repository name %q: each segment must be lowercase letters and digits separated by '.', '_', '__' or runs of '-'", name))
		}
	}
	return nil
}

func validOCISegment(seg string) bool {
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
	if seg == "" || !alnum(seg[0]) || !alnum(seg[len(seg)-1]) {
		return false
	}
	for i := 1; i < len(seg); i++ {
		c := seg[i]
		if alnum(c) {
			continue
		}
		// A separator run: ".", "_", "__" or any number of '-'.
		j := i
		for j < len(seg) && !alnum(seg[j]) {
			j++
		}
		sep := seg[i:j]
		if sep != "." && sep != "_" && sep != "__" && strings.Trim(sep, "-") != "" {
			return false
		}
		i = j - 1
	}
	return true
}
