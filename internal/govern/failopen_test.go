package govern

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/catalog"
	"github.com/tidegate/tidegate/internal/counter"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/router"
	"github.com/tidegate/tidegate/internal/store"
)

// downCounter is a counter backend that cannot be reached.
type downCounter struct{}

func (downCounter) Reserve(context.Context, *counter.Reservation) (counter.Decision, error) {
	return counter.Decision{}, fmt.Errorf("dial: %w", counter.ErrUnavailable)
}
func (downCounter) Settle(context.Context, *counter.Reservation, counter.Usage) error {
	return counter.ErrUnavailable
}
func (downCounter) Close() error { return nil }

func admitN(t *testing.T, g *Gate, n int) (admitted int, lastErr error) {
	t.Helper()
	id := &Identity{Key: &store.Key{ID: "k1", Limits: store.Limits{RPM: 3}}}
	in := &router.Input{Model: "m", Header: http.Header{}}
	route := &router.Route{Targets: []router.Target{{Model: "m"}}}
	for i := 0; i < n; i++ {
		tk, err := g.Admit(context.Background(), id, in, route, &llm.Request{}, "req_test")
		if err != nil {
			lastErr = err
			continue
		}
		admitted++
		tk.Finish(Outcome{UsageKnown: true})
	}
	return admitted, lastErr
}

func TestCounterDownFailsClosed(t *testing.T) {
	g := New(Options{Counter: downCounter{}, Catalog: catalog.New()})
	n, err := admitN(t, g, 2)
	var e *llm.Error
	if n != 0 || !errors.As(err, &e) || e.HTTPStatus() != http.StatusServiceUnavailable {
		t.Fatalf("admitted %d, err %v", n, err)
	}
}

func TestCounterDownFailsOpenWithLocalLimits(t *testing.T) {
	g := New(Options{Counter: downCounter{}, Catalog: catalog.New(), FailOpen: true, Local: counter.NewMemory(time.Now)})
	n, err := admitN(t, g, 5)
	var e *llm.Error
	if n != 3 || !errors.As(err, &e) || e.Kind != llm.KindRateLimit {
		t.Fatalf("want the local rpm of 3 enforced, admitted %d, err %v", n, err)
	}
}
