package client_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	mrand "math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/faultproxy"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/backends"
	"github.com/artifact-store/artstore/pkg/client"
)

// faultOpTimeout bounds each push and pull through the fault proxy: one
// that takes longer hangs instead of failing cleanly.
const faultOpTimeout = 30 * time.Second

// faultRig is a store reached through a fault proxy: faulty opens a
// client whose connections go through it, blobs reads the stored objects
// directly, bypassing both.
type faultRig struct {
	proxy  *faultproxy.Proxy
	faulty func(t *testing.T) client.Store
	blobs  storage.Backend
}

// faultData returns n contents, each a few segments (so they share
// chunks) and some bytes of its own; up to 2 MiB each.
func faultData(rng *mrand.Rand, n int) [][]byte {
	seg := func(size int) []byte {
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	shared := [][]byte{seg(1500 << 10), seg(1 << 20), seg(600 << 10)}
	out := make([][]byte, n)
	for i := range out {
		var b []byte
		if i%3 != 2 {
			b = append(b, shared[rng.IntN(len(shared))]...)
		}
		out[i] = append(b, seg(rng.IntN(512<<10))...)
	}
	return out
}

// runFaults pushes contents through the proxy's faults, checks that every
// push and pull either succeeds with the right bytes or fails cleanly (no
// hang), then, with the faults off, that a re-run of each failed push
// succeeds uploading exactly the chunks still missing, that every stored
// object matches its digest, and that everything pulls back intact.
func runFaults(t *testing.T, rig faultRig, seed uint64, rate float64) {
	rng := mrand.New(mrand.NewPCG(seed, 1))
	data := faultData(rng, 8)
	failed := map[int]error{}
	// With rate 1 every connection breaks, after up to 3 MiB, and none
	// carries the rest of the test untouched; retries get most pushes
	// through.
	rig.proxy.SetPlan(faultproxy.Random(seed, rate, 3<<20))
	st := rig.faulty(t)
	pushFaulty(t, st, data, 0, 6, failed)
	pullAll(t, st, data[:6], failed, true)
	// Every connection is reset after 1 MiB: chunks that fit go through
	// on fresh connections, larger ones never do, so these pushes fail
	// having stored part of their chunks.
	rig.proxy.SetPlan(func(int) faultproxy.Fault { return faultproxy.Fault{Kind: faultproxy.Reset, After: 1 << 20} })
	pushFaulty(t, rig.faulty(t), data, 6, len(data), failed)
	injected := 0
	for k := faultproxy.Reset; k <= faultproxy.HalfClose; k++ {
		injected += rig.proxy.Injected(k)
		t.Logf("%s: %d connections", k, rig.proxy.Injected(k))
	}
	t.Logf("%d of %d pushes failed through the faults", len(failed), len(data))
	if injected == 0 || len(failed) == 0 {
		t.Fatal("no fault injected or no push failed: the test proves nothing")
	}

	rig.proxy.SetPlan(faultproxy.NoFaults)
	clean := rig.faulty(t)
	for i, perr := range failed {
		repush(t, rig.blobs, clean, i, data[i], perr)
	}
	checkObjects(t, rig.blobs)
	pullAll(t, clean, data, nil, false)
}

// pushFaulty pushes data[from:to] as versions from+1.. of fault/a and
// records the pushes that failed; each must fail cleanly or register the
// right content.
func pushFaulty(t *testing.T, st client.Store, data [][]byte, from, to int, failed map[int]error) {
	t.Helper()
	for i := from; i < to; i++ {
		b := data[i]
		ctx, cancel := context.WithTimeout(context.Background(), faultOpTimeout)
		res, err := st.Push(ctx, client.PushRequest{Reader: bytes.NewReader(b), Name: "fault/a", Version: strconv.Itoa(i + 1)})
		cancel()
		switch {
		case err != nil:
			checkClean(t, "push "+strconv.Itoa(i+1), err)
			failed[i] = err
		case res.ContentDigest != content.FromBytes(b).String():
			t.Errorf("push %d through faults registered %s, want %s", i+1, res.ContentDigest, content.FromBytes(b))
		}
	}
}

// checkClean fails the test unless err is one of the client's classified
// errors; a deadline means the operation hung.
func checkClean(t *testing.T, what string, err error) {
	t.Helper()
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%s hung for %s: %v", what, faultOpTimeout, err)
		return
	}
	for _, s := range []error{client.ErrUnavailable, client.ErrIntegrity, client.ErrConflict} {
		if errors.Is(err, s) {
			return
		}
	}
	t.Errorf("%s failed with an unclassified error: %v", what, err)
}

// repush re-runs a push that failed through faults: it must upload exactly
// the bytes of the distinct chunks the store lacks, or, when the failed
// one had registered before its answer was lost, find the version there.
func repush(t *testing.T, blobs storage.Backend, st client.Store, i int, b []byte, perr error) {
	t.Helper()
	ctx := context.Background()
	missing := missingBytes(t, blobs, b)
	ref := "fault/a:" + strconv.Itoa(i+1)
	res, err := st.Push(ctx, client.PushRequest{Reader: bytes.NewReader(b), Name: "fault/a", Version: strconv.Itoa(i + 1)})
	if errors.Is(err, client.ErrConflict) {
		a, gerr := st.Get(ctx, ref)
		if gerr != nil || a.ContentDigest != content.FromBytes(b).String() {
			t.Errorf("re-run of %s: conflict, but the registered version is %+v (%v)", ref, a, gerr)
		}
		return
	}
	if err != nil {
		t.Errorf("re-run of %s (failed first with %v) without faults: %v", ref, perr, err)
		return
	}
	if res.UploadedBytes != missing {
		t.Errorf("re-run of %s uploaded %d bytes; the store lacked %d", ref, res.UploadedBytes, missing)
	}
}

// missingBytes sums the sizes of b's distinct chunks that blobs lacks.
func missingBytes(t *testing.T, blobs storage.Backend, b []byte) int64 {
	t.Helper()
	ch, err := content.NewChunker(bytes.NewReader(b), content.DefaultChunkerParams())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[content.Digest]bool{}
	var n int64
	for {
		c, err := ch.Next()
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		d := content.FromBytes(c.Data)
		if seen[d] {
			continue
		}
		seen[d] = true
		_, err = blobs.Head(context.Background(), d)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			n += int64(len(c.Data))
		case err != nil:
			t.Fatal(err)
		}
	}
}

// checkObjects reads every stored object and checks it against its name:
// a fault must never leave corrupt bytes under a digest.
func checkObjects(t *testing.T, blobs storage.Backend) {
	t.Helper()
	ctx := context.Background()
	n := 0
	err := blobs.Walk(ctx, func(info storage.Info) error {
		rc, err := blobs.Get(ctx, info.Digest, nil)
		if err != nil {
			return err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			return err
		}
		if got := content.FromBytes(b); got != info.Digest || int64(len(b)) != info.Size {
			t.Errorf("object %s holds %d bytes hashing to %s", info.Digest, len(b), got)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no object stored")
	}
}

// pullAll pulls every pushed version (skipping the failed ones): a pull
// that succeeds must give the bytes pushed; through faults a pull may fail
// (cleanly), and must then leave no file.
func pullAll(t *testing.T, st client.Store, data [][]byte, failed map[int]error, faults bool) {
	t.Helper()
	dir := t.TempDir()
	for i, b := range data {
		if _, ok := failed[i]; ok {
			continue
		}
		ref := "fault/a:" + strconv.Itoa(i+1)
		out := filepath.Join(dir, strconv.Itoa(i))
		ctx, cancel := context.WithTimeout(context.Background(), faultOpTimeout)
		_, err := st.PullToPath(ctx, ref, out, client.PullOptions{})
		cancel()
		if err != nil {
			if !faults {
				t.Errorf("pull %s: %v", ref, err)
				continue
			}
			checkClean(t, "pull "+ref, err)
			if _, serr := os.Lstat(out); serr == nil {
				t.Errorf("a failed pull of %s left %s behind", ref, out)
			}
			continue
		}
		got, err := os.ReadFile(out)
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("pull %s gave %d bytes that differ from the %d pushed (%v)", ref, len(got), len(b), err)
		}
	}
}

func TestPushThroughFaultsToDaemon(t *testing.T) {
	d := startDaemon(t, nil)
	proxy, err := faultproxy.Start(strings.TrimPrefix(d.ts.URL, "http://"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	rig := faultRig{proxy: proxy, blobs: d.be, faulty: func(t *testing.T) client.Store {
		r, err := client.OpenRemote(context.Background(), client.RemoteOptions{URL: proxy.URL(), Token: d.token["write"],
			MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, UserAgent: "fault-test"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}}
	runFaults(t, rig, 11, 1)
}

// s3Server is an S3 endpoint with a fresh bucket.
type s3Server struct {
	endpoint, access, secret, region, bucket string
}

// fakeS3 starts gofakes3 with a bucket.
func fakeS3(t *testing.T) s3Server {
	mem := s3mem.New()
	if err := mem.CreateBucket("faults"); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(gofakes3.New(mem, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(ts.Close)
	return s3Server{endpoint: ts.URL, access: "k", secret: "s", region: "us-east-1", bucket: "faults"}
}

// realS3 returns the server of ARTSTORE_TEST_S3_ENDPOINT (CI runs Ceph RGW)
// with a fresh bucket, removed with its objects when the test ends.
func realS3(t *testing.T) s3Server {
	endpoint := os.Getenv("ARTSTORE_TEST_S3_ENDPOINT")
	if endpoint == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but ARTSTORE_TEST_S3_ENDPOINT is not: start scripts/ceph-rgw.sh and source its env")
		}
		t.Skip("ARTSTORE_TEST_S3_ENDPOINT is not set (scripts/ceph-rgw.sh start DIR starts a server)")
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	s := s3Server{endpoint: endpoint, access: os.Getenv("ARTSTORE_TEST_S3_ACCESS_KEY"),
		secret: os.Getenv("ARTSTORE_TEST_S3_SECRET_KEY"), region: os.Getenv("ARTSTORE_TEST_S3_REGION"),
		bucket: "artstore-faults-" + hex.EncodeToString(b[:])}
	if s.region == "" {
		s.region = "us-east-1"
	}
	c := s3.New(s3.Options{BaseEndpoint: aws.String(endpoint), Region: s.region, UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(s.access, s.secret, "")})
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(s.bucket)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	t.Cleanup(func() {
		p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				break
			}
			for _, o := range page.Contents {
				_, _ = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: o.Key})
			}
		}
		if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(s.bucket)}); err != nil {
			t.Logf("delete bucket %s: %v", s.bucket, err)
		}
	})
	return s
}

// s3Rig is a local store whose backend is the S3 server, reached through
// a fault proxy.
func s3Rig(t *testing.T, srv s3Server) faultRig {
	u := strings.TrimPrefix(strings.TrimPrefix(srv.endpoint, "http://"), "https://")
	proxy, err := faultproxy.Start(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	cfg := func(endpoint string) client.BackendConfig {
		return client.BackendConfig{ID: "s3-faults", Type: "s3", Bucket: srv.bucket, Prefix: "f/", Region: srv.region,
			Endpoint: endpoint, PathStyle: true, AccessKeyID: srv.access, SecretAccessKey: srv.secret}
	}
	direct := cfg(srv.endpoint)
	blobs, err := backends.Open(context.Background(), backends.Spec{ID: direct.ID, Type: direct.Type, Bucket: direct.Bucket,
		Prefix: direct.Prefix, Region: direct.Region, Endpoint: direct.Endpoint, PathStyle: true,
		AccessKeyID: direct.AccessKeyID, SecretAccessKey: direct.SecretAccessKey})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	return faultRig{proxy: proxy, blobs: blobs, faulty: func(t *testing.T) client.Store {
		l, err := client.OpenLocal(context.Background(), client.LocalOptions{Dir: dir, Backend: cfg(proxy.URL()), Actor: "fault-test"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}}
}

// The S3 SDK backs off up to a second or two before each retry, so fewer
// connections break on the way to S3 than to the daemon, whose client
// retries after milliseconds here: the test stays quick.
const s3FaultRate = 0.6

func TestPushThroughFaultsToS3(t *testing.T) {
	runFaults(t, s3Rig(t, fakeS3(t)), 12, s3FaultRate)
}

func TestPushThroughFaultsToRealS3(t *testing.T) {
	runFaults(t, s3Rig(t, realS3(t)), 13, s3FaultRate)
}

// TestPullCutByTheNetworkIsUnavailable: a download the network cuts in
// the middle, on every try, fails as ErrUnavailable (exit status 6: the
// daemon could not be read), like a request that gets no answer at all,
// not as an unclassified error: blob by blob with a plain read token, and
// through the content route with a prefix-limited one.
func TestPullCutByTheNetworkIsUnavailable(t *testing.T) {
	d := startDaemon(t, nil)
	ctx := context.Background()
	data := faultData(mrand.New(mrand.NewPCG(5, 1)), 1)[0]
	if _, err := d.open(t, "write").Push(ctx, client.PushRequest{Reader: bytes.NewReader(data), Name: "fault/cut"}); err != nil {
		t.Fatal(err)
	}
	prefixed, _, err := d.srv.Tokens().Create(ctx, "test", auth.Spec{Name: "fault-reader", Scope: auth.ScopeRead, Prefix: "fault/"})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []faultproxy.Kind{faultproxy.Reset, faultproxy.HalfClose} {
		for name, token := range map[string]string{"blobs": d.token["read"], "content route": prefixed} {
			t.Run(k.String()+" "+name, func(t *testing.T) {
				proxy, err := faultproxy.Start(strings.TrimPrefix(d.ts.URL, "http://"), func(int) faultproxy.Fault {
					return faultproxy.Fault{Kind: k, After: 300 << 10}
				})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { proxy.Close() })
				r, err := client.OpenRemote(ctx, client.RemoteOptions{URL: proxy.URL(), Token: token,
					MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, UserAgent: "fault-test"})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { r.Close() })
				_, err = r.Pull(ctx, "fault/cut", io.Discard, client.PullOptions{})
				if !errors.Is(err, client.ErrUnavailable) {
					t.Fatalf("pull cut after 300 KiB on every connection: %v; want ErrUnavailable", err)
				}
			})
		}
	}
}
