package provider

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/catalog"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/dialect/openai"
	"github.com/tidegate/tidegate/internal/llm"
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

// TestPostKeepsUpstreamStatus: the caller sees 502/503 for an upstream 5xx,
// but UpstreamStatus keeps the real one for the router's retry decisions.
func TestPostKeepsUpstreamStatus(t *testing.T) {
	for _, c := range []struct{ upstream, status int }{{500, 0}, {503, 0}, {429, 429}, {400, 400}, {401, 502}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(c.upstream)
			io.WriteString(w, `{"error":{"message":"nope","type":"x"}}`)
		}))
		p := NewOpenAI("oai", config.Provider{BaseURL: srv.URL}, catalog.New())
		_, err := p.post(t.Context(), "/chat/completions", []byte(`{}`), http.Header{}, openai.DecodeError)
		srv.Close()
		p.CloseIdleConnections()
		var e *llm.Error
		if !errors.As(err, &e) || e.UpstreamStatus != c.upstream || e.Status != c.status {
			t.Errorf("%d: got %+v", c.upstream, err)
		}
		if c.upstream != 401 && e.RetryAfter != 2*time.Second {
			t.Errorf("%d: retry after %s", c.upstream, e.RetryAfter)
		}
	}
}
