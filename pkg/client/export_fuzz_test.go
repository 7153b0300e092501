package client

import (
	"archive/tar"
	"bytes"
	"testing"
)

// FuzzExportSummary feeds summarize, which reads the bundle a daemon
// streams, arbitrary bytes: it never panics, copies exactly what it read,
// and accepts only a whole tar with a bundle.json.
func FuzzExportSummary(f *testing.F) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, m := range []struct{ name, body string }{
		{"artstore-bundle/README.txt", "read me"},
		{"artstore-bundle/bundle.json", `{"format":"artstore-bundle/1","origin":"o","size":3,"root":"r","closure":-1,"artifacts":[{"id":"A","ref":"a:1","digest":"sha256:` + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" + `","manifest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","size":2,"depth":0,"bytes":true}],"events":[1,2]}` + "\n"},
		{"artstore-bundle/artifacts/A/content", "hi"},
	} {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: m.name, Size: int64(len(m.body)), Mode: 0o644})
		_, _ = tw.Write([]byte(m.body))
	}
	_ = tw.Close()
	f.Add(b.Bytes())
	f.Add(b.Bytes()[:b.Len()/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		sum, err := summarize(bytes.NewReader(in), &out)
		if err != nil {
			return
		}
		if sum == nil || !bytes.Equal(out.Bytes(), in) {
			t.Fatalf("summary %+v; copied %d of %d bytes", sum, out.Len(), len(in))
		}
	})
}
