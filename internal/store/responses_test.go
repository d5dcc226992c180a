package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestStoredResponses(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := open(t, url)
		first := []byte(`[{"role":"user","content":"hi \u00e9 ' \" --"},{"type":"message","role":"assistant","content":[{"type":"output_text","text":"hello"}]}]`)
		r := &StoredResponse{ID: "resp_1", KeyID: "key-1", Model: "gpt", Items: first, Response: []byte(`{"id":"resp_1"}`), CreatedAt: at}
		if err := s.PutResponse(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetResponse(ctx, "resp_1", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != "resp_1" || got.KeyID != "key-1" || got.Model != "gpt" || got.PreviousID != "" ||
			string(got.Items) != `[{"role":"user","content":"hi \u00e9 ' \" --"},{"type":"message","role":"assistant","content":[{"type":"output_text","text":"hello"}]}]` ||
			string(got.Response) != `{"id":"resp_1"}` || !got.CreatedAt.Equal(utc(at)) {
			t.Errorf("read back %+v (items %s)", got, got.Items)
		}

		// Later turns store only their own items; reading one joins the chain.
		if err := s.PutResponse(ctx, &StoredResponse{ID: "resp_2", PreviousID: "resp_1", KeyID: "key-1", Items: []byte(` [ ] `)}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutResponse(ctx, &StoredResponse{ID: "resp_3", PreviousID: "resp_2", KeyID: "key-1", Items: []byte(`[3, 4]`)}); err != nil {
			t.Fatal(err)
		}
		got, err = s.GetResponse(ctx, "resp_3", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		want := `[{"role":"user","content":"hi \u00e9 ' \" --"},{"type":"message","role":"assistant","content":[{"type":"output_text","text":"hello"}]},3, 4]`
		if got.ID != "resp_3" || got.PreviousID != "resp_2" || string(got.Items) != want || got.Response != nil {
			t.Errorf("chain: %+v\n items %s\n want  %s", got, got.Items, want)
		}

		if err := s.PutResponse(ctx, &StoredResponse{ID: "resp_1", Items: first}); !errors.Is(err, ErrConflict) {
			t.Errorf("duplicate id: %v, want ErrConflict", err)
		}
		if _, err := s.GetResponse(ctx, "resp_missing", time.Time{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing id: %v, want ErrNotFound", err)
		}
		// A turn whose earlier turn is gone is not found either.
		if err := s.PutResponse(ctx, &StoredResponse{ID: "resp_orphan", PreviousID: "resp_deleted", Items: []byte(`[1]`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetResponse(ctx, "resp_orphan", time.Time{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("broken chain: %v, want ErrNotFound", err)
		}
		if err := s.PutResponse(ctx, &StoredResponse{ID: "resp_x"}); err == nil {
			t.Error("no items: stored")
		}
		// Zero CreatedAt is now.
		r4 := &StoredResponse{ID: "resp_4", Items: []byte(`[]`)}
		if err := s.PutResponse(ctx, r4); err != nil || r4.CreatedAt.IsZero() {
			t.Errorf("zero time: %v, %v", err, r4.CreatedAt)
		}
	})
}

// One turn is read, deleted and expired on its own; a conversation with
// an expired or deleted turn is gone.
func TestStoredResponseLifetime(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := open(t, url)
		day := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		for i, id := range []string{"resp_a", "resp_b", "resp_c"} {
			prev := ""
			if i > 0 {
				prev = []string{"resp_a", "resp_b"}[i-1]
			}
			r := &StoredResponse{ID: id, PreviousID: prev, KeyID: "k", Items: []byte(`["` + id + `"]`),
				Response: []byte(`{"id":"` + id + `"}`), CreatedAt: day.Add(time.Duration(i) * time.Hour)}
			if err := s.PutResponse(ctx, r); err != nil {
				t.Fatal(err)
			}
		}

		turn, err := s.GetResponseTurn(ctx, "resp_c", time.Time{})
		if err != nil || string(turn.Items) != `["resp_c"]` || string(turn.Response) != `{"id":"resp_c"}` || turn.PreviousID != "resp_b" {
			t.Fatalf("turn: %+v, %v", turn, err)
		}
		if got, err := s.GetResponse(ctx, "resp_c", day); err != nil || string(got.Items) != `["resp_a","resp_b","resp_c"]` {
			t.Fatalf("chain since its first turn: %+v, %v", got, err)
		}
		// Since after resp_a: resp_c still exists alone, but its
		// conversation does not.
		since := day.Add(time.Minute)
		if _, err := s.GetResponse(ctx, "resp_c", since); !errors.Is(err, ErrNotFound) {
			t.Errorf("chain with an expired turn: %v, want ErrNotFound", err)
		}
		if _, err := s.GetResponseTurn(ctx, "resp_c", since); err != nil {
			t.Errorf("fresh turn: %v", err)
		}
		if _, err := s.GetResponseTurn(ctx, "resp_a", since); !errors.Is(err, ErrNotFound) {
			t.Errorf("expired turn: %v, want ErrNotFound", err)
		}

		if err := s.DeleteResponse(ctx, "resp_b"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteResponse(ctx, "resp_b"); !errors.Is(err, ErrNotFound) {
			t.Errorf("second delete: %v, want ErrNotFound", err)
		}
		if _, err := s.GetResponse(ctx, "resp_c", time.Time{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("chain with a deleted turn: %v, want ErrNotFound", err)
		}
		if _, err := s.GetResponse(ctx, "resp_a", time.Time{}); err != nil {
			t.Errorf("the turn before the deleted one: %v", err)
		}

		// A purge takes the oldest first, at most limit at a time.
		for i := range 5 {
			id := "resp_old" + string(rune('0'+i))
			if err := s.PutResponse(ctx, &StoredResponse{ID: id, Items: []byte(`[]`), CreatedAt: day.Add(-time.Duration(5-i) * time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		cutoff := day.Add(90 * time.Minute) // after resp_a, before resp_c
		if n, err := s.PurgeResponses(ctx, cutoff, 4); err != nil || n != 4 {
			t.Fatalf("first batch: %d, %v; want 4", n, err)
		}
		if _, err := s.GetResponseTurn(ctx, "resp_old4", time.Time{}); err != nil {
			t.Errorf("resp_old4, the newest of six, went in a batch of four: %v", err)
		}
		if n, err := s.PurgeResponses(ctx, cutoff, 4); err != nil || n != 2 {
			t.Fatalf("second batch: %d, %v; want 2 (resp_old4, resp_a)", n, err)
		}
		if n, err := s.PurgeResponses(ctx, cutoff, 4); err != nil || n != 0 {
			t.Fatalf("nothing left: %d, %v", n, err)
		}
		if _, err := s.GetResponseTurn(ctx, "resp_c", time.Time{}); err != nil {
			t.Errorf("a turn after the cutoff was purged: %v", err)
		}
	})
}

// Turns stored before migration 6 read back without a Response object.
func TestStoredResponseBeforeMigration6(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := open(t, url)
		d := s.(*sqlStore).db
		for _, q := range []string{"ALTER TABLE responses DROP COLUMN response", "DELETE FROM schema_migrations WHERE version >= 6"} {
			if _, err := d.exec(ctx, q); err != nil {
				t.Fatal(q, err)
			}
		}
		if _, err := d.exec(ctx, "INSERT INTO responses (id, items, created_at) VALUES ($1, $2, $3)", "resp_old", `[1]`, at); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s = open(t, url)
		got, err := s.GetResponse(ctx, "resp_old", time.Time{})
		if err != nil || string(got.Items) != `[1]` || got.Response != nil {
			t.Errorf("old turn: %+v, %v", got, err)
		}
	})
}

func TestAppendArray(t *testing.T) {
	got := []byte{'['}
	for _, a := range []string{`[1,2]`, `[]`, `oops`, ` [ 3 ] `} {
		got = appendArray(got, []byte(a))
	}
	if string(got) != "[1,2,3" {
		t.Errorf("got %s", got)
	}
}
