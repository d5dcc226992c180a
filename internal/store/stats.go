package store

import (
	"context"
	"fmt"
	"time"
)

// Stats buckets.
const (
	BucketHour = "hour"
	BucketDay  = "day"
	BucketAll  = "" // one row for the whole range
)

// StatsFilter selects the records Stats aggregates.
type StatsFilter struct {
	Bucket string    // BucketHour, BucketDay or BucketAll
	Since  time.Time // inclusive; zero: open
	Until  time.Time // exclusive; zero: open
	KeyID  string    // only this key's records when set
}

// StatsRow aggregates the records of one time bucket.
type StatsRow struct {
	Time         time.Time // the bucket's start (UTC); zero for BucketAll
	Requests     int64     // records that reached a provider
	Refused      int64     // records the gateway answered itself
	Errors       int64     // requests (not refused) that ended with status >= 400
	InputTokens  int64
	OutputTokens int64
	CostUSD      float64
	// Latency percentiles in ms over Requests (nearest rank: the smallest
	// latency with at least p% of the requests at or below it); 0 when
	// there are none.
	P50, P95, P99 int64
}

// Stats aggregates the usage log over time buckets, oldest first; buckets
// without records are absent. Percentiles are exact: window functions rank
// each bucket's latencies in the database, so only one row per bucket
// leaves it.
func (s *sqlStore) Stats(ctx context.Context, f StatsFilter) ([]StatsRow, error) {
	var bucket string
	switch f.Bucket {
	case BucketHour:
		bucket = s.db.dialect().hour
	case BucketDay:
		bucket = s.db.dialect().dayStart
	case BucketAll:
		bucket = "CAST('' AS TEXT)"
	default:
		return nil, fmt.Errorf("store: stats: unknown bucket %q: want hour, day or \"\"", f.Bucket)
	}
	var w where
	w.between("u.time", f.Since, f.Until)
	if f.KeyID != "" {
		w.add("u.key_id = ?", f.KeyID)
	}
	partition := "u.refused"
	if f.Bucket != BucketAll {
		partition = bucket + ", u.refused"
	}
	// rn/n rank a record's latency among its bucket's records of the same
	// refused value; the nearest rank of percentile p is ceil(p*n/100),
	// here in integer arithmetic, which both backends share.
	rank := func(p string) string {
		return "COALESCE(MIN(CASE WHEN NOT refused AND rn * 100 >= n * " + p + " THEN latency_ms END), 0)"
	}
	q := `WITH r AS (SELECT ` + bucket + ` AS b, u.refused, u.status, u.input_tokens, u.output_tokens, u.cost_usd, u.latency_ms,
		ROW_NUMBER() OVER (PARTITION BY ` + partition + ` ORDER BY u.latency_ms) AS rn,
		COUNT(*) OVER (PARTITION BY ` + partition + `) AS n
	FROM usage u` + w.String() + `)
	SELECT b,
		SUM(CASE WHEN refused THEN 0 ELSE 1 END),
		SUM(CASE WHEN refused THEN 1 ELSE 0 END),
		SUM(CASE WHEN NOT refused AND status >= 400 THEN 1 ELSE 0 END),
		CAST(SUM(input_tokens) AS BIGINT),
		CAST(SUM(output_tokens) AS BIGINT),
		SUM(cost_usd), ` + rank("50") + ", " + rank("95") + ", " + rank("99") + `
	FROM r GROUP BY b ORDER BY b`

	out := []StatsRow{}
	err := s.db.query(ctx, q, w.args, func(scan func(...any) error) error {
		var r StatsRow
		var b string
		if err := scan(&b, &r.Requests, &r.Refused, &r.Errors, &r.InputTokens, &r.OutputTokens, &r.CostUSD, &r.P50, &r.P95, &r.P99); err != nil {
			return err
		}
		if b != "" {
			t, err := time.Parse(time.RFC3339, b)
			if err != nil {
				return fmt.Errorf("bucket %q: %w", b, err)
			}
			r.Time = t
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: stats: %w", err)
	}
	return out, nil
}
