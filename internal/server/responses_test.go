package server

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/store"
)

func TestResponsesEnvelope(t *testing.T) {
	bad := map[string]string{
		`{"input":"hi"}`:                                     "model",
		`{"model":"m"}`:                                      "input",
		`{"model":"m","input":7}`:                            "input",
		`{"model":"m","input":"x","stream":"yes"}`:           "stream",
		`{"model":"m","input":"x","previous_response_id":1}`: "previous_response_id",
	}
	for body, param := range bad {
		if _, err := responsesEnvelope([]byte(body), llm.OpChat); err == nil || err.Param != param {
			t.Errorf("%s: %v, want an error on %s", body, err, param)
		}
	}
	e, err := responsesEnvelope([]byte(`{"model":"m","previous_response_id":"resp_1","stream":true,"max_output_tokens":300}`), llm.OpChat)
	if err != nil || e.model != "m" || !e.stream || e.maxTokens != 300 {
		t.Errorf("got %+v, %v", e, err)
	}
}

func TestJoinItems(t *testing.T) {
	cases := []struct{ a, b, want string }{
		{`[1,2]`, `[3]`, `[1,2,3]`},
		{`[]`, `[3]`, `[3]`},
		{` [ 1 ] `, `[]`, `[1]`},
		{`not an array`, `[3]`, `[3]`},
		{``, ``, `[]`},
	}
	for _, c := range cases {
		if got := string(joinItems([]byte(c.a), []byte(c.b))); got != c.want {
			t.Errorf("joinItems(%q, %q) = %q, want %q", c.a, c.b, got, c.want)
		}
	}
	if got := string(inputItems([]byte(`{"input":"say \"hi\""}`))); got != `[{"role":"user","content":"say \"hi\""}]` {
		t.Errorf("string input: %s", got)
	}
	if got := string(inputItems([]byte(`{"input":[{"role":"user","content":"x"}]}`))); got != `[{"role":"user","content":"x"}]` {
		t.Errorf("array input: %s", got)
	}
	if got := string(inputItems([]byte(`{}`))); got != `[]` {
		t.Errorf("no input: %s", got)
	}
}

// storedServer is a Server over a fresh SQLite store, without auth, whose
// clock reads now, keeping responses for an hour.
func storedServer(t *testing.T, now time.Time) (*Server, store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "tidegate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return New(Options{Store: st, ResponseRetention: time.Hour, Now: func() time.Time { return now }}), st
}

func serve(s *Server, method, target string) (int, string) {
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(method, target, nil))
	return w.Code, w.Body.String()
}

func TestStoredResponseEndpoints(t *testing.T) {
	now := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	s, st := storedServer(t, now)
	ctx := context.Background()
	put := func(r *store.StoredResponse) {
		t.Helper()
		if err := st.PutResponse(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	first := `{"id":"resp_1","object":"response","status":"completed","output":[{"id":"msg_a","type":"message","role":"assistant","content":[{"type":"output_text","text":"Hi."}]}]}`
	put(&store.StoredResponse{ID: "resp_1", Items: []byte(`[{"role":"user","content":"Hello"},{"id":"msg_a","type":"message","role":"assistant","content":[{"type":"output_text","text":"Hi."}]}]`),
		Response: []byte(first), CreatedAt: now.Add(-30 * time.Minute)})
	put(&store.StoredResponse{ID: "resp_2", PreviousID: "resp_1",
		Items:    []byte(`[{"type":"function_call_output","call_id":"c1","output":"42"},{"role":"assistant","content":"ok"},{"id":"fc_x","type":"function_call","call_id":"c2","name":"f","arguments":"{}"}]`),
		Response: []byte(`{"id":"resp_2","output":[{"id":"fc_x","type":"function_call","call_id":"c2","name":"f","arguments":"{}"}]}`), CreatedAt: now})
	put(&store.StoredResponse{ID: "resp_expired", Items: []byte(`[]`), Response: []byte(`{"id":"resp_expired","output":[]}`), CreatedAt: now.Add(-2 * time.Hour)})
	put(&store.StoredResponse{ID: "resp_legacy", Items: []byte(`[{"role":"user","content":"x"}]`), CreatedAt: now})

	if code, body := serve(s, "GET", "/v1/responses/resp_1"); code != 200 || body != first {
		t.Errorf("get: %d %s", code, body)
	}

	// The items before resp_2's output: the whole conversation, newest first.
	code, body := serve(s, "GET", "/v1/responses/resp_2/input_items")
	want := `{"object":"list","data":[` +
		`{"role":"assistant","content":[{"type":"output_text","text":"ok"}],"type":"message","id":"item_3"},` +
		`{"type":"function_call_output","call_id":"c1","output":"42","id":"item_2"},` +
		`{"id":"msg_a","type":"message","role":"assistant","content":[{"type":"output_text","text":"Hi."}]},` +
		`{"role":"user","content":[{"type":"input_text","text":"Hello"}],"type":"message","id":"item_0"}` +
		`],"first_id":"item_3","last_id":"item_0","has_more":false}`
	if code != 200 || body != want {
		t.Errorf("input items: %d\n got %s\nwant %s", code, body, want)
	}
	// Pages, oldest first, follow the cursor.
	var ids []string
	for after := ""; ; {
		code, body := serve(s, "GET", "/v1/responses/resp_2/input_items?order=asc&limit=3&after="+after)
		if code != 200 {
			t.Fatalf("page after %q: %d %s", after, code, body)
		}
		for _, it := range gjson.Get(body, "data").Array() {
			ids = append(ids, it.Get("id").Str)
		}
		if !gjson.Get(body, "has_more").Bool() {
			break
		}
		after = gjson.Get(body, "last_id").Str
	}
	if got := strings.Join(ids, ","); got != "item_0,msg_a,item_2,item_3" {
		t.Errorf("pages: %s", got)
	}
	if _, body := serve(s, "GET", "/v1/responses/resp_2/input_items?after=item_0"); body != `{"object":"list","data":[],"first_id":null,"last_id":null,"has_more":false}` {
		t.Errorf("past the end: %s", body)
	}

	for target, param := range map[string]string{
		"/v1/responses/resp_2/input_items?limit=0":       "limit",
		"/v1/responses/resp_2/input_items?limit=101":     "limit",
		"/v1/responses/resp_2/input_items?order=up":      "order",
		"/v1/responses/resp_2/input_items?after=item_99": "after",
		"/v1/responses/resp_2?stream=true":               "stream",
	} {
		code, body := serve(s, "GET", target)
		if code != 400 || gjson.Get(body, "error.param").Str != param || gjson.Get(body, "error.type").Str != "invalid_request_error" {
			t.Errorf("%s: %d %s, want a 400 on %s", target, code, body, param)
		}
	}

	notFound := func(method, target, says string) {
		t.Helper()
		code, body := serve(s, method, target)
		if code != 404 || !strings.Contains(gjson.Get(body, "error.message").Str, says) {
			t.Errorf("%s %s: %d %s, want a 404 saying %q", method, target, code, body, says)
		}
	}
	notFound("GET", "/v1/responses/resp_missing", "Response with id 'resp_missing' not found.")
	notFound("GET", "/v1/responses/resp_expired", "not found")
	notFound("GET", "/v1/responses/resp_legacy", "older tidegate")
	notFound("GET", "/v1/responses/resp_legacy/input_items", "older tidegate")

	if code, body := serve(s, "DELETE", "/v1/responses/resp_1"); code != 200 || body != `{"id":"resp_1","object":"response","deleted":true}` {
		t.Errorf("delete: %d %s", code, body)
	}
	notFound("DELETE", "/v1/responses/resp_1", "not found")
	notFound("GET", "/v1/responses/resp_1", "not found")
	// resp_2 is still there, but its conversation is not.
	if code, _ := serve(s, "GET", "/v1/responses/resp_2"); code != 200 {
		t.Errorf("the turn after a deleted one: %d", code)
	}
	notFound("GET", "/v1/responses/resp_2/input_items", "earlier turn")

	noStore := New(Options{})
	if code, body := serve(noStore, "GET", "/v1/responses/resp_2"); code != 404 || !strings.Contains(body, "keeps no responses") {
		t.Errorf("without a store: %d %s", code, body)
	}
}
