package app

import (
	"strings"
	"testing"
)

// FuzzParseOCIManifest: any body and Content-Type either parse into an
// image manifest or index of a known media type whose descriptors all
// carry valid digests, or are refused with MANIFEST_INVALID; never a
// panic.
func FuzzParseOCIManifest(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"data":"e30="},"layers":[]}`), "")
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"mediaType":"x/y","digest":"sha512:`+strings.Repeat("ab", 64)+`","size":1}]}`), OCIIndexType)
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"a/b","digest":"sha256:x","size":-1}}`), "")
	f.Add([]byte(`{"schemaVersion":2} {}`), OCIManifestType)
	f.Fuzz(func(t *testing.T, body []byte, ct string) {
		d, err := parseOCIManifest(body, ct)
		if err != nil {
			if _, code := ociStatusCode(err); code != "MANIFEST_INVALID" {
				t.Fatalf("refusal %v is not MANIFEST_INVALID", err)
			}
			return
		}
		switch d.MediaType {
		case OCIManifestType, DockerManifestType, OCIIndexType, DockerListType:
		default:
			t.Fatalf("accepted media type %q", d.MediaType)
		}
		for _, desc := range d.descriptors() {
			if _, err := ParseOCIDigest(desc.Digest); err != nil || desc.Size < 0 {
				t.Fatalf("accepted descriptor %+v", desc)
			}
		}
	})
}

func ociStatusCode(err error) (int, string) {
	if oe, ok := err.(*OCIError); ok {
		return oe.Status, oe.Code
	}
	return 0, ""
}

// FuzzParseOCIDigest: a digest that parses prints back as itself.
func FuzzParseOCIDigest(f *testing.F) {
	f.Add("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
	f.Add("sha512:" + strings.Repeat("0", 128))
	f.Add("sha256:ABC")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseOCIDigest(s)
		if err == nil && d.String() != s {
			t.Fatalf("%q parsed as %q", s, d)
		}
	})
}
