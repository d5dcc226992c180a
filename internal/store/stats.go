package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// Stats buckets.
const (
	BucketHour = "hour"
	BucketDay  = "day"
)

// StatsFilter selects the records Stats aggregates.
type StatsFilter struct {
	Bucket string    // BucketHour or BucketDay (UTC)
	Since  time.Time // inclusive; zero: open
	Until  time.Time // exclusive; zero: open
	KeyID  string    // only this key's records when set
}

// StatsRow aggregates the records of one time bucket, or of a whole range.
type StatsRow struct {
	Time         time.Time // the bucket's start (UTC); zero for a range's totals
	Requests     int64     // records that reached a provider
	Refused      int64     // records the gateway answered itself
	Errors       int64     // requests (not refused) that ended with status >= 400
	InputTokens  int64
	OutputTokens int64
	CostUSD      float64
	// Latency percentiles in ms over Requests, nearest rank (the smallest
	// latency with at least p% of the requests at or below it), to three
	// significant digits: exact below 1 s, rounded down within 1% above;
	// 0 when there are no requests.
	P50, P95, P99 int64
}

// latencyBin rounds u.latency_ms down to three significant digits, so that
// a bucket's latencies come out of the database as a short histogram
// rather than row by row (ranking rows with window functions was 3x
// slower on SQLite).
const latencyBin = `CASE WHEN u.latency_ms < 1000 THEN u.latency_ms
	WHEN u.latency_ms < 10000 THEN u.latency_ms / 10 * 10
	WHEN u.latency_ms < 100000 THEN u.latency_ms / 100 * 100
	WHEN u.latency_ms < 1000000 THEN u.latency_ms / 1000 * 1000
	ELSE u.latency_ms / 10000 * 10000 END`

// Stats aggregates the usage log over time buckets: the buckets that have
// records, oldest first, and the totals of the whole range. Two grouped
// queries: the counters by bucket, and each bucket's latency histogram.
func (s *sqlStore) Stats(ctx context.Context, f StatsFilter) ([]StatsRow, StatsRow, error) {
	var bucket string
	var step time.Duration
	switch f.Bucket {
	case BucketHour:
		bucket, step = s.db.dialect().hour, time.Hour
	case BucketDay:
		bucket, step = s.db.dialect().dayStart, 24*time.Hour
	default:
		return nil, StatsRow{}, fmt.Errorf("store: stats: unknown bucket %q: want hour or day", f.Bucket)
	}
	var w where
	w.between("u.time", f.Since, f.Until)
	if f.KeyID != "" {
		w.add("u.key_id = ?", f.KeyID)
	}

	rows := []StatsRow{}
	index := map[int64]int{} // bucket number → rows index
	var total StatsRow
	q := "SELECT " + bucket + `,
		SUM(CASE WHEN u.refused THEN 0 ELSE 1 END),
		SUM(CASE WHEN u.refused THEN 1 ELSE 0 END),
		SUM(CASE WHEN NOT u.refused AND u.status >= 400 THEN 1 ELSE 0 END),
		CAST(SUM(u.input_tokens) AS BIGINT),
		CAST(SUM(u.output_tokens) AS BIGINT),
		SUM(u.cost_usd)
	FROM usage u` + w.String() + " GROUP BY 1 ORDER BY 1"
	err := s.db.query(ctx, q, w.args, func(scan func(...any) error) error {
		var r StatsRow
		var b int64
		if err := scan(&b, &r.Requests, &r.Refused, &r.Errors, &r.InputTokens, &r.OutputTokens, &r.CostUSD); err != nil {
			return err
		}
		r.Time = time.Unix(0, 0).UTC().Add(time.Duration(b) * step)
		index[b] = len(rows)
		rows = append(rows, r)
		total.Requests += r.Requests
		total.Refused += r.Refused
		total.Errors += r.Errors
		total.InputTokens += r.InputTokens
		total.OutputTokens += r.OutputTokens
		total.CostUSD += r.CostUSD
		return nil
	})
	if err != nil {
		return nil, StatsRow{}, fmt.Errorf("store: stats: %w", err)
	}

	hist := map[int64][]bin{}
	all := map[int64]int64{}
	w.conds = append(w.conds, "NOT u.refused")
	q = "SELECT " + bucket + ", " + latencyBin + ", COUNT(*) FROM usage u" + w.String() + " GROUP BY 1, 2"
	err = s.db.query(ctx, q, w.args, func(scan func(...any) error) error {
		var b int64
		var h bin
		if err := scan(&b, &h.ms, &h.n); err != nil {
			return err
		}
		hist[b] = append(hist[b], h)
		all[h.ms] += h.n
		return nil
	})
	if err != nil {
		return nil, StatsRow{}, fmt.Errorf("store: stats: latency: %w", err)
	}
	for b, h := range hist {
		if i, ok := index[b]; ok {
			r := &rows[i]
			r.P50, r.P95, r.P99 = percentiles(h)
		}
	}
	merged := make([]bin, 0, len(all))
	for ms, n := range all {
		merged = append(merged, bin{ms, n})
	}
	total.P50, total.P95, total.P99 = percentiles(merged)
	return rows, total, nil
}

// bin is a latency histogram bar: n requests took ms (rounded).
type bin struct{ ms, n int64 }

// percentiles returns the nearest-rank p50, p95 and p99 of a histogram.
func percentiles(h []bin) (p50, p95, p99 int64) {
	slices.SortFunc(h, func(a, b bin) int { return cmp.Compare(a.ms, b.ms) })
	var n int64
	for _, b := range h {
		n += b.n
	}
	rank := func(p int64) int64 {
		want := (p*n + 99) / 100 // ceil(p*n/100), at least 1 when n > 0
		var seen int64
		for _, b := range h {
			if seen += b.n; seen >= want {
				return b.ms
			}
		}
		return 0
	}
	return rank(50), rank(95), rank(99)
}
