package admin

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/tidegate/tidegate/internal/store"
)

// maxBuckets bounds one stats answer (a month of hours fits).
const maxBuckets = 2000

// Latency holds latency percentiles in milliseconds.
type Latency struct {
	P50 int64 `json:"p50"`
	P95 int64 `json:"p95"`
	P99 int64 `json:"p99"`
}

// Stats are the aggregates of one bucket, or of the whole range (Time nil).
type Stats struct {
	Time         *time.Time `json:"time,omitempty"`
	Requests     int64      `json:"requests"`
	Refused      int64      `json:"refused"`
	Errors       int64      `json:"errors"`
	InputTokens  int64      `json:"input_tokens"`
	OutputTokens int64      `json:"output_tokens"`
	CostUSD      float64    `json:"cost_usd"`
	LatencyMS    Latency    `json:"latency_ms"`
}

// StatsReport answers GET /admin/stats: every bucket of the range, empty
// ones included, so a chart's x axis is the data's.
type StatsReport struct {
	Bucket string    `json:"bucket"`
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until"`
	KeyID  string    `json:"key_id,omitempty"`
	Data   []Stats   `json:"data"`
	Totals Stats     `json:"totals"`
}

// StatsFor aggregates the usage log for f over its buckets, filling the
// empty ones. f.Since and f.Until must be set.
func StatsFor(ctx context.Context, st store.Store, f store.StatsFilter) (*StatsReport, error) {
	rows, total, err := st.Stats(ctx, f)
	if err != nil {
		return nil, err
	}
	rep := &StatsReport{Bucket: f.Bucket, Since: f.Since, Until: f.Until, KeyID: f.KeyID, Data: []Stats{}, Totals: statsOf(total)}
	byTime := make(map[int64]store.StatsRow, len(rows))
	for _, r := range rows {
		byTime[r.Time.Unix()] = r
	}
	step := bucketLength(f.Bucket)
	for t := f.Since.UTC().Truncate(step); t.Before(f.Until); t = t.Add(step) {
		s := Stats{} // an empty bucket
		if r, ok := byTime[t.Unix()]; ok {
			s = statsOf(r)
		}
		s.Time = &t
		rep.Data = append(rep.Data, s)
	}
	return rep, nil
}

func statsOf(r store.StatsRow) Stats {
	return Stats{Requests: r.Requests, Refused: r.Refused, Errors: r.Errors, InputTokens: r.InputTokens,
		OutputTokens: r.OutputTokens, CostUSD: r.CostUSD, LatencyMS: Latency{r.P50, r.P95, r.P99}}
}

// bucketLength is the duration of a bucket; days are UTC days, which
// Truncate gets right since the zero time is a UTC midnight.
func bucketLength(bucket string) time.Duration {
	if bucket == store.BucketDay {
		return 24 * time.Hour
	}
	return time.Hour
}

// stats serves GET /admin/stats?since=&until=&bucket=hour|day&key_id=.
func (h *handler) stats(w http.ResponseWriter, r *http.Request, _ *call) {
	q, e := query(r, "since", "until", "bucket", "key_id")
	if e != nil {
		writeError(w, e)
		return
	}
	bucket := q.Get("bucket")
	switch bucket {
	case "":
		bucket = store.BucketHour
	case store.BucketHour, store.BucketDay:
	default:
		writeError(w, invalid("bucket", "must be hour or day; got %q", bucket))
		return
	}
	since, e := timeParam(q, "since")
	if e != nil {
		writeError(w, e)
		return
	}
	until, e := timeParam(q, "until")
	if e != nil {
		writeError(w, e)
		return
	}
	if until.IsZero() {
		until = h.now().UTC()
	}
	if since.IsZero() {
		since = until.Add(-24 * time.Hour) // the last day by hour
		if bucket == store.BucketDay {
			since = until.Add(-defaultWindow)
		}
	}
	if !since.Before(until) {
		writeError(w, invalid("since", "must be before until (%s)", until.Format(time.RFC3339)))
		return
	}
	if n := until.Sub(since.Truncate(bucketLength(bucket))) / bucketLength(bucket); n > maxBuckets {
		writeError(w, invalid("since", "the range holds %d %s buckets, more than %d: narrow it or use bucket=day", n, bucket, maxBuckets))
		return
	}
	rep, err := StatsFor(r.Context(), h.store, store.StatsFilter{Bucket: bucket, Since: since, Until: until, KeyID: strings.TrimSpace(q.Get("key_id"))})
	if err != nil {
		h.storeError(w, r, err, "stats", "")
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
