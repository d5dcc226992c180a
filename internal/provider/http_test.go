package provider

import (
	"errors"
	"io"
	"net/http"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	cases := []struct {
		h    map[string]string
		want time.Duration
	}{
		{map[string]string{"Retry-After": "3"}, 3 * time.Second},
		{map[string]string{"retry-after-ms": "250"}, 250 * time.Millisecond},
		{map[string]string{"Retry-After": "7", "retry-after-ms": "1500"}, 1500 * time.Millisecond},
		{map[string]string{"Retry-After": "garbage"}, 0},
		{nil, 0},
	}
	for _, c := range cases {
		h := http.Header{}
		for k, v := range c.h {
			h.Set(k, v)
		}
		if got := retryAfter(h); got != c.want {
			t.Errorf("%v: got %v want %v", c.h, got, c.want)
		}
	}
}

// blockingBody blocks reads until closed, like a silent upstream.
type blockingBody struct{ done chan struct{} }

func (b *blockingBody) Read([]byte) (int, error) { <-b.done; return 0, errors.New("context canceled") }
func (b *blockingBody) Close() error {
	select {
	case <-b.done:
	default:
		close(b.done)
	}
	return nil
}

func TestIdleBodyTimesOut(t *testing.T) {
	bb := &blockingBody{done: make(chan struct{})}
	body := newIdleBody(bb, 20*time.Millisecond, func() { bb.Close() })
	defer body.Close()
	_, err := io.ReadAll(body)
	if !errors.Is(err, errIdle) {
		t.Fatalf("want errIdle, got %v", err)
	}
}

func TestMaskRemovesKey(t *testing.T) {
	b := base{apiKey: "sk-secret-12345"}
	got := string(b.mask([]byte(`{"error":"bad key sk-secret-12345"}`)))
	if got != `{"error":"bad key [REDACTED]"}` {
		t.Fatalf("got %s", got)
	}
}
