package store

import (
	"context"
	"errors"
	"testing"
)

func TestStoredResponses(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := open(t, url)
		items := []byte(`[{"role":"user","content":"hi \u00e9 ' \" --"},{"type":"message","role":"assistant","content":[{"type":"output_text","text":"hello"}]}]`)
		r := &StoredResponse{ID: "resp_1", KeyID: "key-1", Model: "gpt", Items: items, CreatedAt: at}
		if err := s.PutResponse(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetResponse(ctx, "resp_1")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != "resp_1" || got.KeyID != "key-1" || got.Model != "gpt" || string(got.Items) != string(items) || !got.CreatedAt.Equal(utc(at)) {
			t.Errorf("read back %+v (items %s)", got, got.Items)
		}
		if err := s.PutResponse(ctx, &StoredResponse{ID: "resp_1", Items: items}); !errors.Is(err, ErrConflict) {
			t.Errorf("duplicate id: %v, want ErrConflict", err)
		}
		if _, err := s.GetResponse(ctx, "resp_missing"); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing id: %v, want ErrNotFound", err)
		}
		if err := s.PutResponse(ctx, &StoredResponse{ID: "resp_2"}); err == nil {
			t.Error("no items: stored")
		}
		// Zero CreatedAt is now.
		r2 := &StoredResponse{ID: "resp_2", Items: []byte(`[]`)}
		if err := s.PutResponse(ctx, r2); err != nil || r2.CreatedAt.IsZero() {
			t.Errorf("zero time: %v, %v", err, r2.CreatedAt)
		}
	})
}
