package llm

import (
	"errors"
	"net/http"
	"testing"
)

func TestLazyRequestKeepsEnvelope(t *testing.T) {
	calls := 0
	r := NewLazyRequest(OpChat, "public", true, false, Source{Dialect: DialectOpenAI, Body: []byte("{}")}, func(r *Request) error {
		calls++
		*r = Request{Model: "from-body", Messages: []Message{{Role: RoleUser}}}
		return nil
	})
	r.Model = "upstream"
	if r.Decoded() {
		t.Fatal("lazy request reports decoded")
	}
	if err := r.Decode(); err != nil {
		t.Fatal(err)
	}
	if err := r.Decode(); err != nil || calls != 1 {
		t.Fatalf("decode ran %d times", calls)
	}
	if r.Model != "upstream" || r.Source.Dialect != DialectOpenAI || len(r.Messages) != 1 {
		t.Fatalf("envelope lost: %+v", r)
	}
}

func TestLazyRequestDecodeErrorIsRetried(t *testing.T) {
	fail := errors.New("bad")
	r := NewLazyRequest(OpChat, "m", false, false, Source{}, func(*Request) error { return fail })
	if err := r.Decode(); !errors.Is(err, fail) || r.Decoded() {
		t.Fatalf("want the error and still lazy, got %v", err)
	}
}

func TestErrorStatus(t *testing.T) {
	if s := (&Error{Kind: KindBudget}).HTTPStatus(); s != http.StatusTooManyRequests {
		t.Fatal(s)
	}
	if s := (&Error{Kind: KindUpstream, Status: 418}).HTTPStatus(); s != 418 {
		t.Fatal(s)
	}
	if k := KindForStatus(529); k != KindOverloaded {
		t.Fatal(k)
	}
	wrapped := AsError(errors.New("x"))
	if wrapped.Kind != KindInternal || wrapped.Message != "internal error" {
		t.Fatalf("%+v", wrapped)
	}
}

func TestUsageMerge(t *testing.T) {
	u := Usage{InputTokens: 10, CacheReadTokens: 4}
	u.Merge(Usage{OutputTokens: 7})
	if u != (Usage{InputTokens: 10, OutputTokens: 7, CacheReadTokens: 4}) || u.Total() != 17 {
		t.Fatalf("%+v", u)
	}
}
