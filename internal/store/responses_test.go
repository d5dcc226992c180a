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
		first := []byte(`[{"role":"user","content":"hi \u00e9 ' \" --"},{"type":"message","role":"assistant","content":[{"type":"output_text","text":"hello"}]}]`)
		r := &StoredResponse{ID: "resp_1", KeyID: "key-1", Model: "gpt", Items: first, CreatedAt: at}
		if err := s.PutResponse(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetResponse(ctx, "resp_1")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != "resp_1" || got.KeyID != "key-1" || got.Model != "gpt" || got.PreviousID != "" ||
			string(got.Items) != `[{"role":"user","content":"hi \u00e9 ' \" --"},{"type":"message","role":"assistant","content":[{"type":"output_text","text":"hello"}]}]` ||
			!got.CreatedAt.Equal(utc(at)) {
			t.Errorf("read back %+v (items %s)", got, got.Items)
		}

		// Later turns store only their own items; reading one joins the chain.
		if err := s.PutResponse(ctx, &StoredResponse{ID: "resp_2", PreviousID: "resp_1", KeyID: "key-1", Items: []byte(` [ ] `)}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutResponse(ctx, &StoredResponse{ID: "resp_3", PreviousID: "resp_2", KeyID: "key-1", Items: []byte(`[3, 4]`)}); err != nil {
			t.Fatal(err)
		}
		got, err = s.GetResponse(ctx, "resp_3")
		if err != nil {
			t.Fatal(err)
		}
		want := `[{"role":"user","content":"hi \u00e9 ' \" --"},{"type":"message","role":"assistant","content":[{"type":"output_text","text":"hello"}]},3, 4]`
		if got.ID != "resp_3" || got.PreviousID != "resp_2" || string(got.Items) != want {
			t.Errorf("chain: %+v\n items %s\n want  %s", got, got.Items, want)
		}

		if err := s.PutResponse(ctx, &StoredResponse{ID: "resp_1", Items: first}); !errors.Is(err, ErrConflict) {
			t.Errorf("duplicate id: %v, want ErrConflict", err)
		}
		if _, err := s.GetResponse(ctx, "resp_missing"); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing id: %v, want ErrNotFound", err)
		}
		// A turn whose earlier turn is gone is not found either.
		if err := s.PutResponse(ctx, &StoredResponse{ID: "resp_orphan", PreviousID: "resp_deleted", Items: []byte(`[1]`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetResponse(ctx, "resp_orphan"); !errors.Is(err, ErrNotFound) {
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

func TestAppendArray(t *testing.T) {
	got := []byte{'['}
	for _, a := range []string{`[1,2]`, `[]`, `oops`, ` [ 3 ] `} {
		got = appendArray(got, []byte(a))
	}
	if string(got) != "[1,2,3" {
		t.Errorf("got %s", got)
	}
}
