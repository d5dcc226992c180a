package store

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"
)

// round3 rounds a latency down to three significant digits.
func round3(ms int64) int64 {
	unit := int64(1)
	for ms/unit >= 1000 {
		unit *= 10
	}
	return ms / unit * unit
}

// wantStats aggregates recs the way Stats must, in Go: the buckets and,
// with bucket "", the totals.
func wantStats(recs []Usage, f StatsFilter) []StatsRow {
	type acc struct {
		row StatsRow
		lat []int64
	}
	byTime := map[time.Time]*acc{}
	for _, u := range recs {
		if !f.Since.IsZero() && u.Time.Before(f.Since) || !f.Until.IsZero() && !u.Time.Before(f.Until) {
			continue
		}
		if f.KeyID != "" && u.KeyID != f.KeyID {
			continue
		}
		var b time.Time
		switch f.Bucket {
		case BucketHour:
			b = u.Time.UTC().Truncate(time.Hour)
		case BucketDay:
			b = u.Time.UTC().Truncate(24 * time.Hour)
		}
		a := byTime[b]
		if a == nil {
			a = &acc{row: StatsRow{Time: b}}
			byTime[b] = a
		}
		r := &a.row
		if u.Refused {
			r.Refused++
		} else {
			r.Requests++
			a.lat = append(a.lat, round3(u.LatencyMS))
			if u.Status >= 400 {
				r.Errors++
			}
		}
		r.InputTokens += u.InputTokens
		r.OutputTokens += u.OutputTokens
		r.CostUSD += u.CostUSD
	}
	out := []StatsRow{}
	for _, a := range byTime {
		slices.Sort(a.lat)
		rank := func(p int) int64 {
			if len(a.lat) == 0 {
				return 0
			}
			return a.lat[(p*len(a.lat)+99)/100-1] // ceil(p*n/100), 1-based
		}
		a.row.P50, a.row.P95, a.row.P99 = rank(50), rank(95), rank(99)
		out = append(out, a.row)
	}
	slices.SortFunc(out, func(a, b StatsRow) int { return a.Time.Compare(b.Time) })
	return out
}

func TestStats(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := open(t, url)
		if got, total, err := s.Stats(ctx, StatsFilter{Bucket: BucketHour}); err != nil || len(got) != 0 || total != (StatsRow{}) {
			t.Fatalf("empty log: %+v, %+v, %v", got, total, err)
		}
		day0, recs := usageFixture(3000)
		// A few records with known latencies in one hour of their own, so
		// that the percentiles are checked against hand-computed values too.
		lone := day0.Add(10 * 24 * time.Hour)
		for i, ms := range []int64{40, 10, 30, 20, 1000} {
			recs = append(recs, Usage{Time: lone.Add(time.Duration(i) * time.Minute), KeyID: "k9", Model: "m", Status: 200, LatencyMS: ms, CostUSD: 0.25})
		}
		recs = append(recs, Usage{Time: lone, KeyID: "k9", Model: "m", Status: 429, Refused: true, LatencyMS: 1})
		if err := s.InsertUsage(ctx, recs); err != nil {
			t.Fatal(err)
		}

		got, total, err := s.Stats(ctx, StatsFilter{Bucket: BucketHour, KeyID: "k9"})
		if err != nil {
			t.Fatal(err)
		}
		want := []StatsRow{{Time: lone, Requests: 5, Refused: 1, CostUSD: 1.25, P50: 30, P95: 1000, P99: 1000}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("hand-checked hour:\n got %+v\nwant %+v", got, want)
		}
		want[0].Time = time.Time{}
		if total != want[0] {
			t.Fatalf("hand-checked total: %+v", total)
		}

		for _, f := range []StatsFilter{
			{Bucket: BucketHour},
			{Bucket: BucketDay},
			{Bucket: BucketHour, Since: day0.Add(36 * time.Hour), Until: day0.Add(72 * time.Hour)},
			{Bucket: BucketDay, Since: day0.Add(30 * time.Hour), KeyID: "k2"},
			{Bucket: BucketHour, Until: day0.Add(50 * time.Hour), KeyID: "k1"},
			{Bucket: BucketDay, KeyID: "nobody"},
			{Bucket: BucketDay, Since: recs[0].Time, Until: recs[1].Time}, // [since, until) on exact record times
		} {
			got, total, err := s.Stats(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			want := wantStats(recs, f)
			if !reflect.DeepEqual(got, want) {
				n := min(len(got), len(want), 3)
				t.Errorf("Stats(%+v): %d rows, want %d; first rows:\n got %+v\nwant %+v", f, len(got), len(want), got[:n], want[:n])
			}
			all := f
			all.Bucket = ""
			wantTotal := StatsRow{}
			if w := wantStats(recs, all); len(w) == 1 {
				wantTotal = w[0]
			}
			if total != wantTotal {
				t.Errorf("Stats(%+v) totals:\n got %+v\nwant %+v", f, total, wantTotal)
			}
		}
		if _, _, err := s.Stats(ctx, StatsFilter{Bucket: "week"}); err == nil {
			t.Error("unknown bucket: no error")
		}
	})
}

// BenchmarkStats aggregates a day of 100k requests by hour (SQLite; the
// figure is in docs/dashboard.md).
func BenchmarkStats(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	day0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 100000
	recs := make([]Usage, 0, 5000)
	for i := range n {
		recs = append(recs, Usage{Time: day0.Add(time.Duration(i) * (24 * time.Hour / n)), KeyID: "k" + strconv.Itoa(i%50),
			Model: "m", Status: 200, LatencyMS: int64(i*7919) % 5000, InputTokens: 100, OutputTokens: 50, CostUSD: 0.001})
		if len(recs) == cap(recs) {
			if err := s.InsertUsage(ctx, recs); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	b.ResetTimer()
	for b.Loop() {
		rows, _, err := s.Stats(ctx, StatsFilter{Bucket: BucketHour, Since: day0, Until: day0.Add(24 * time.Hour)})
		if err != nil || len(rows) != 24 {
			b.Fatalf("%d rows, %v", len(rows), err)
		}
	}
}
