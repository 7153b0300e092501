package s3

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/artifact-store/artstore/internal/storage"
)

var _ storage.Marker = (*Backend)(nil)

// maxMarkerSize bounds what ReadMarker reads: the marker is a few hundred
// bytes of JSON.
const maxMarkerSize = 64 << 10

// ReadMarker returns the object <prefix>artstore-store.json
// (storage.Marker). Walk lists only <prefix>sha256/, so it is never taken
// for a blob.
func (b *Backend) ReadMarker(ctx context.Context) ([]byte, error) {
	key := b.prefix + storage.MarkerName
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: &key})
	if err != nil {
		return nil, b.markerErr("read", key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, maxMarkerSize+1))
	if err != nil {
		return nil, b.markerErr("read", key, err)
	}
	if len(data) > maxMarkerSize {
		return nil, fmt.Errorf("s3 backend %q: store marker s3://%s/%s is more than %d bytes", b.id, b.bucket, key, maxMarkerSize)
	}
	return data, nil
}

// WriteMarker replaces <prefix>artstore-store.json with one PutObject,
// which S3 makes visible atomically (storage.Marker).
func (b *Backend) WriteMarker(ctx context.Context, data []byte) error {
	key := b.prefix + storage.MarkerName
	_, err := b.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &b.bucket, Key: &key, Body: bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))), ContentType: aws.String("application/json"),
	})
	if err != nil {
		return b.markerErr("write", key, err)
	}
	return nil
}

func (b *Backend) markerErr(op, key string, err error) error {
	return fmt.Errorf("s3 backend %q: %s store marker s3://%s/%s at %s: %w", b.id, op, b.bucket, key, b.endpoint, mapError(err))
}
