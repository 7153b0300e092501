package server

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// latencyBuckets are the upper bounds, in seconds, of the request duration
// histogram.
var latencyBuckets = [...]float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// routeMetrics are one route's counters. Everything is atomic: observing
// a request takes no lock.
type routeMetrics struct {
	name     string // "METHOD pattern"
	codes    [600]atomic.Int64
	buckets  [len(latencyBuckets)]atomic.Int64
	count    atomic.Int64
	sumNanos atomic.Int64
	bytesIn  atomic.Int64
	bytesOut atomic.Int64
}

// metrics is the server's metric registry, written out in the Prometheus
// text exposition format by hand: a few counters do not need a client
// library, and nothing here is global.
type metrics struct {
	byRoute      map[*route]*routeMetrics
	order        []*routeMetrics
	blobBytesIn  atomic.Int64
	blobBytesOut atomic.Int64
	// directUploads and directDownloads count the presigned requests
	// handed out; direct is 1 when direct transfers are on.
	directUploads   atomic.Int64
	directDownloads atomic.Int64
	direct          atomic.Int64
	dedupHits       atomic.Int64
	// ociDedupBytes counts the bytes of OCI blob uploads the backend
	// already held (chunks stored before, by any push).
	ociDedupBytes atomic.Int64
}

func newMetrics(tables ...[]route) *metrics {
	m := &metrics{byRoute: map[*route]*routeMetrics{}}
	for _, routes := range tables {
		for i := range routes {
			rm := &routeMetrics{name: routes[i].Method + " " + routes[i].Pattern}
			m.byRoute[&routes[i]] = rm
			m.order = append(m.order, rm)
		}
	}
	m.order = append(m.order, &routeMetrics{name: "unmatched"})
	return m
}

func (m *metrics) observe(rt *route, status int, d time.Duration, in, out int64) {
	rm, ok := m.byRoute[rt]
	if !ok {
		rm = m.order[len(m.order)-1]
	}
	if status >= 0 && status < len(rm.codes) {
		rm.codes[status].Add(1)
	}
	sec := d.Seconds()
	for i, b := range latencyBuckets {
		if sec <= b {
			rm.buckets[i].Add(1)
			break
		}
	}
	rm.count.Add(1)
	rm.sumNanos.Add(int64(d))
	rm.bytesIn.Add(in)
	rm.bytesOut.Add(out)
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	head, headErr := s.log.Head(ctx)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	bw := bufio.NewWriter(w)
	m := s.metrics
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }

	p("# HELP artstore_http_requests_total HTTP requests by route and status code.\n# TYPE artstore_http_requests_total counter\n")
	for _, rm := range m.order {
		for code := range rm.codes {
			if n := rm.codes[code].Load(); n > 0 {
				p("artstore_http_requests_total{route=%s,code=\"%d\"} %d\n", quote(rm.name), code, n)
			}
		}
	}
	p("# HELP artstore_http_request_duration_seconds HTTP request latency by route.\n# TYPE artstore_http_request_duration_seconds histogram\n")
	for _, rm := range m.order {
		n := rm.count.Load()
		if n == 0 {
			continue
		}
		var cum int64
		for i, b := range latencyBuckets {
			cum += rm.buckets[i].Load()
			p("artstore_http_request_duration_seconds_bucket{route=%s,le=\"%s\"} %d\n", quote(rm.name), strconv.FormatFloat(b, 'g', -1, 64), cum)
		}
		p("artstore_http_request_duration_seconds_bucket{route=%s,le=\"+Inf\"} %d\n", quote(rm.name), n)
		p("artstore_http_request_duration_seconds_sum{route=%s} %s\n", quote(rm.name), strconv.FormatFloat(time.Duration(rm.sumNanos.Load()).Seconds(), 'g', -1, 64))
		p("artstore_http_request_duration_seconds_count{route=%s} %d\n", quote(rm.name), n)
	}
	p("# HELP artstore_http_request_bytes_total Request body bytes read, by route.\n# TYPE artstore_http_request_bytes_total counter\n")
	for _, rm := range m.order {
		if rm.count.Load() > 0 {
			p("artstore_http_request_bytes_total{route=%s} %d\n", quote(rm.name), rm.bytesIn.Load())
		}
	}
	p("# HELP artstore_http_response_bytes_total Response body bytes written, by route.\n# TYPE artstore_http_response_bytes_total counter\n")
	for _, rm := range m.order {
		if rm.count.Load() > 0 {
			p("artstore_http_response_bytes_total{route=%s} %d\n", quote(rm.name), rm.bytesOut.Load())
		}
	}
	p("# HELP artstore_blob_bytes_in_total Blob bytes received and stored.\n# TYPE artstore_blob_bytes_in_total counter\nartstore_blob_bytes_in_total %d\n", m.blobBytesIn.Load())
	p("# HELP artstore_blob_bytes_out_total Blob and content bytes sent.\n# TYPE artstore_blob_bytes_out_total counter\nartstore_blob_bytes_out_total %d\n", m.blobBytesOut.Load())
	p("# HELP artstore_direct_transfers Whether clients move blob bytes straight to and from the backend (1) or through the daemon (0).\n# TYPE artstore_direct_transfers gauge\nartstore_direct_transfers %d\n", m.direct.Load())
	p("# HELP artstore_direct_uploads_total Presigned blob uploads handed out.\n# TYPE artstore_direct_uploads_total counter\nartstore_direct_uploads_total %d\n", m.directUploads.Load())
	p("# HELP artstore_direct_downloads_total Presigned downloads handed out (manifests and chunks).\n# TYPE artstore_direct_downloads_total counter\nartstore_direct_downloads_total %d\n", m.directDownloads.Load())
	p("# HELP artstore_dedup_hits_total Blobs a client did not have to send: present at a missing check, or already stored at a PUT.\n# TYPE artstore_dedup_hits_total counter\nartstore_dedup_hits_total %d\n", m.dedupHits.Load())
	p("# HELP artstore_oci_dedup_bytes_total Bytes of OCI blob uploads whose chunks the backend already held, so nothing new was stored for them.\n# TYPE artstore_oci_dedup_bytes_total counter\nartstore_oci_dedup_bytes_total %d\n", m.ociDedupBytes.Load())
	p("# HELP artstore_log_up Whether the event log answered the last scrape.\n# TYPE artstore_log_up gauge\n")
	if headErr != nil {
		p("artstore_log_up 0\n")
	} else {
		p("artstore_log_up 1\n# HELP artstore_log_head_seq Seq of the last event of the log.\n# TYPE artstore_log_head_seq gauge\nartstore_log_head_seq %d\n", head.Seq)
	}
	return bw.Flush()
}

// quote returns a Prometheus label value in double quotes.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}
