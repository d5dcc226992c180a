package app

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/store"
)

// Stored responses past responses.retention are purged in the
// background, with the retention of the config serving at each pass.
func TestPurgeResponses(t *testing.T) {
	l := newLive(t, "sqlite://"+filepath.Join(t.TempDir(), "tidegate.db"))
	l.write(l.cfgText(keyA, "oai", "responses: {retention: 0s}\n")) // forever
	a := l.start(withPurgeInterval(20 * time.Millisecond))
	ctx := context.Background()
	st := a.base.store
	for id, age := range map[string]time.Duration{"resp_old": 2 * time.Hour, "resp_new": time.Minute} {
		if err := st.PutResponse(ctx, &store.StoredResponse{ID: id, Items: []byte(`[]`), CreatedAt: time.Now().Add(-age)}); err != nil {
			t.Fatal(err)
		}
	}
	a.purgeResponsesOnce(ctx)
	if _, err := st.GetResponseTurn(ctx, "resp_old", time.Time{}); err != nil {
		t.Fatalf("retention 0 purged a turn: %v", err)
	}

	l.write(l.cfgText(keyA, "oai", "responses: {retention: 1h}\n"))
	if err := a.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := st.GetResponseTurn(ctx, "resp_old", time.Time{})
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the expired turn was not purged: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := st.GetResponseTurn(ctx, "resp_new", time.Time{}); err != nil {
		t.Errorf("a turn within the retention was purged: %v", err)
	}
}
