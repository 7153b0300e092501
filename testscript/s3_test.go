package testscript_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rogpeppe/go-internal/testscript"
)

// S3 scripts run the CLI against a real S3-compatible server (Ceph RGW in
// CI, started by scripts/ceph-rgw.sh). They need ARTSTORE_TEST_S3_ENDPOINT
// and its keys; without them the [s3] condition is false and the scripts
// skip, except under CI, where TestS3ScriptsConfigured fails instead.
const envS3Endpoint = "ARTSTORE_TEST_S3_ENDPOINT"

// s3Prefix is the key prefix every S3 script's config uses.
const s3Prefix = "ts/"

type s3Env struct {
	endpoint, access, secret, region string
}

func s3FromEnv() (s3Env, bool) {
	e := s3Env{
		endpoint: os.Getenv(envS3Endpoint),
		access:   os.Getenv("ARTSTORE_TEST_S3_ACCESS_KEY"),
		secret:   os.Getenv("ARTSTORE_TEST_S3_SECRET_KEY"),
		region:   os.Getenv("ARTSTORE_TEST_S3_REGION"),
	}
	if e.region == "" {
		e.region = "us-east-1"
	}
	return e, e.endpoint != ""
}

func (e s3Env) client() *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint:               aws.String(e.endpoint),
		Region:                     e.region,
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(e.access, e.secret, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// TestS3ScriptsConfigured makes a missing S3 server a failure in CI, so the
// S3 scripts can never silently stop running there.
func TestS3ScriptsConfigured(t *testing.T) {
	if _, ok := s3FromEnv(); !ok {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but %s is not: start scripts/ceph-rgw.sh and source its env", envS3Endpoint)
		}
		t.Skipf("%s is not set: the S3 scripts skip (start scripts/ceph-rgw.sh START DIR and source DIR/env to run them)", envS3Endpoint)
	}
}

// s3Setup passes the S3 server to a script: the endpoint and region as
// ARTSTORE_TEST_S3_ENDPOINT / AWS_REGION, the keys through the standard
// AWS variables (so configs written by scripts hold no secrets), and a fresh
// bucket name as $S3_BUCKET (created by the s3-mkbucket command, removed
// with everything in it when the script ends).
func s3Setup(env *testscript.Env) error {
	e, ok := s3FromEnv()
	if !ok {
		return nil
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	bucket := "artstore-ts-" + hex.EncodeToString(b[:])
	env.Setenv(envS3Endpoint, e.endpoint)
	env.Setenv("AWS_REGION", e.region)
	env.Setenv("AWS_ACCESS_KEY_ID", e.access)
	env.Setenv("AWS_SECRET_ACCESS_KEY", e.secret)
	env.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	env.Setenv("S3_BUCKET", bucket)
	env.Setenv("S3_PREFIX", s3Prefix)
	env.Defer(func() { removeBucket(e, bucket) })
	return nil
}

// removeBucket empties and deletes a script's bucket; best effort, since a
// script may never have created it.
func removeBucket(e s3Env, bucket string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := e.client()
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			break
		}
		for _, o := range page.Contents {
			_, _ = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key})
		}
	}
	_, _ = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
}

// s3-mkbucket NAME: create a bucket on the test S3 server.
func cmdS3Mkbucket(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: s3-mkbucket NAME")
	}
	e, ok := s3FromEnv()
	if !ok {
		ts.Fatalf("s3-mkbucket: %s is not set (guard the script with [!s3] skip)", envS3Endpoint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := e.client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(args[0])})
	ts.Check(err)
}

// s3-rmblob BUCKET DIGEST: delete a blob's object (under $S3_PREFIX) behind
// artstore's back, as a careless operator or a failing disk might.
func cmdS3Rmblob(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: s3-rmblob BUCKET DIGEST")
	}
	e, ok := s3FromEnv()
	if !ok {
		ts.Fatalf("s3-rmblob: %s is not set", envS3Endpoint)
	}
	d, err := content.ParseDigest(args[1])
	ts.Check(err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key := s3Prefix + d.Key()
	c := e.client()
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(args[0]), Key: aws.String(key)}); err != nil {
		ts.Fatalf("s3-rmblob: no object %s in bucket %s: %v", key, args[0], err)
	}
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(args[0]), Key: aws.String(key)})
	ts.Check(err)
}

// s3-count BUCKET PREFIX N: assert the bucket holds N objects under PREFIX
// (a sub-prefix of $S3_PREFIX, e.g. "sha256/").
func cmdS3Count(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: s3-count BUCKET PREFIX N")
	}
	e, ok := s3FromEnv()
	if !ok {
		ts.Fatalf("s3-count: %s is not set", envS3Endpoint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n := 0
	p := s3.NewListObjectsV2Paginator(e.client(), &s3.ListObjectsV2Input{Bucket: aws.String(args[0]), Prefix: aws.String(s3Prefix + args[1])})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		ts.Check(err)
		n += len(page.Contents)
	}
	got := fmt.Sprint(n)
	if (got == strings.TrimSpace(args[2])) == neg {
		ts.Fatalf("s3-count: %d objects under %s%s, want %s%s", n, s3Prefix, args[1], map[bool]string{true: "not ", false: ""}[neg], args[2])
	}
}
