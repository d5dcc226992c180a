package govern

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/counter"
	"github.com/tidegate/tidegate/internal/llm"
)

func TestCost(t *testing.T) {
	p := &llm.Price{Input: 3, Output: 15, CacheRead: 0.3, CacheWrite: 3.75}
	// 1000 input of which 600 cache reads and 100 cache writes, 200 output.
	u := llm.Usage{InputTokens: 1000, OutputTokens: 200, CacheReadTokens: 600, CacheWriteTokens: 100}
	want := (300*3 + 600*0.3 + 100*3.75 + 200*15) / 1e6
	if got := Cost(u, p); math.Abs(got-want) > 1e-12 {
		t.Fatalf("cost %v want %v", got, want)
	}
	// Unknown cache prices fall back to the input price; unpriced is free.
	if got := Cost(llm.Usage{InputTokens: 10, CacheReadTokens: 10}, &llm.Price{Input: 1}); math.Abs(got-10/1e6) > 1e-15 {
		t.Fatalf("cache read at input price: %v", got)
	}
	if Cost(u, nil) != 0 {
		t.Fatal("unpriced models are free")
	}
}

func TestMicroUSDRoundsUp(t *testing.T) {
	if microUSD(1.0000001) != 2 || microUSD(2) != 2 || microUSD(0) != 0 {
		t.Fatal(microUSD(1.0000001), microUSD(2))
	}
}

func TestPeriod(t *testing.T) {
	now := time.Date(2026, 11, 23, 18, 30, 0, 0, time.UTC)
	s, e, l := period("daily", now)
	if !s.Equal(time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)) || !e.Equal(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)) || l != "2026-11-23" {
		t.Fatal(s, e, l)
	}
	s, e, l = period("monthly", now)
	if !s.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) || !e.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) || l != "2026-11" {
		t.Fatal(s, e, l)
	}
	if s, e, l = period("", now); !s.IsZero() || !e.IsZero() || l != "total" {
		t.Fatal(s, e, l)
	}
}

func TestAllowed(t *testing.T) {
	list := []string{"gpt", "openai/*", "claude-*"}
	for model, want := range map[string]bool{"gpt": true, "openai/gpt-4o": true, "claude-sonnet": true, "gpt-4": false, "anthropic/x": false} {
		if allowed(list, model) != want {
			t.Errorf("%s: want %v", model, want)
		}
	}
}

func TestCredential(t *testing.T) {
	cases := []struct {
		h    http.Header
		want string
	}{
		{http.Header{"Authorization": {"Bearer sk-tg-1"}}, "sk-tg-1"},
		{http.Header{"Authorization": {"bearer  sk-tg-2 "}}, "sk-tg-2"},
		{http.Header{"X-Api-Key": {"sk-tg-3"}}, "sk-tg-3"},
		{http.Header{"Api-Key": {"sk-tg-4"}}, "sk-tg-4"},
		{http.Header{"Authorization": {"Basic abc"}}, ""},
		{http.Header{}, ""},
	}
	for _, c := range cases {
		if got := credential(c.h); got != c.want {
			t.Errorf("%v: got %q want %q", c.h, got, c.want)
		}
	}
}

func TestHeadersPickTheTightestWindow(t *testing.T) {
	r := &counter.Reservation{Tokens: []counter.Window{{Key: "key:k:tpm"}}}
	tk := &Ticket{g: New(Options{Now: func() time.Time { return time.Unix(0, 0) }}), reserved: r, states: []counter.State{
		{Key: "key:k:rpm", Limit: 60, Remaining: 10, Reset: 30 * time.Second},
		{Key: "team:t:rpm", Limit: 600, Remaining: 5, Reset: 90 * time.Second},
		{Key: "key:k:tpm", Limit: 1000, Remaining: 400, Reset: 500 * time.Millisecond},
	}}
	h := http.Header{}
	tk.SetHeaders(h, llm.DialectOpenAI)
	if h.Get("x-ratelimit-limit-requests") != "600" || h.Get("x-ratelimit-remaining-requests") != "5" || h.Get("x-ratelimit-reset-requests") != "1m30s" {
		t.Fatalf("requests headers %v", h)
	}
	if h.Get("x-ratelimit-remaining-tokens") != "400" || h.Get("x-ratelimit-reset-tokens") != "500ms" {
		t.Fatalf("tokens headers %v", h)
	}
	h = http.Header{}
	tk.SetHeaders(h, llm.DialectAnthropic)
	if h.Get("anthropic-ratelimit-requests-remaining") != "5" || h.Get("anthropic-ratelimit-requests-reset") != "1970-01-01T00:01:30Z" {
		t.Fatalf("anthropic headers %v", h)
	}
}

func TestScopeName(t *testing.T) {
	if scopeName("key:key_1:rpm") != "key:key_1" || scopeName("team:t:budget:2026-11") != "team:t" {
		t.Fatal(scopeName("key:key_1:rpm"))
	}
}

// appendReset prints what time.Duration prints for the rounded value,
// and milliseconds below a second.
func TestAppendReset(t *testing.T) {
	for _, d := range []time.Duration{0, time.Millisecond, 999 * time.Millisecond, time.Second, 1499 * time.Millisecond,
		59*time.Second + 600*time.Millisecond, time.Minute, 90 * time.Second, time.Hour, time.Hour + time.Second, 25*time.Hour + 61*time.Second} {
		want := d.Round(time.Second).String()
		if d < time.Second {
			want = strconv.FormatInt(d.Milliseconds(), 10) + "ms"
		}
		if got := string(appendReset(nil, d)); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}

func TestReservationIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := newReservationID()
		if len(id) != 28 || !strings.HasPrefix(id, "res_") || seen[id] {
			t.Fatalf("id %q (seen before: %v)", id, seen[id])
		}
		seen[id] = true
	}
}
