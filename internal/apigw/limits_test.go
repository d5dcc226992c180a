package apigw

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/counter"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/openapi"
)

const dispatchSpec = `
openapi: 3.0.3
info: {title: Mixed, version: 1.0.0}
paths:
  /chat:
    post:
      operationId: chat
      x-tidegate-dispatch: {ai-proxy: {model: fast, dialect: anthropic}}
      x-tidegate-middlewares: [one]
      responses: {'200': {description: ok}}
  /things:
    get:
      operationId: things
      x-tidegate-middlewares: [one]
      responses: {'200': {description: ok}}
`

func compileSpec(t *testing.T, src string) *openapi.API {
	t.Helper()
	path := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	api, err := openapi.Compile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return api
}

func TestLimits(t *testing.T) {
	api := compileSpec(t, dispatchSpec)
	if _, err := NewLimits("m", api, map[string]RateLimit{}, "passthrough", counter.NewMemory(time.Now), false, nil); err == nil ||
		!strings.Contains(err.Error(), `unknown profile "one"`) {
		t.Fatalf("unknown profile: %v", err)
	}
	now := time.Unix(1_000_000, 0)
	clock := func() time.Time { return now }
	l, err := NewLimits("m", api, map[string]RateLimit{"one": {RPM: 1, RPH: 2}}, "passthrough", counter.NewMemory(clock), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := l.Check(ctx, "things", nil); err != nil {
		t.Fatal(err)
	}
	err = l.Check(ctx, "things", nil)
	if e := llm.AsError(err); e.HTTPStatus() != http.StatusTooManyRequests || e.RetryAfter <= 0 || e.RetryAfter > time.Minute {
		t.Fatalf("second within a minute: %v (retry after %s)", err, e.RetryAfter)
	}
	if err := l.Check(ctx, "chat", nil); err != nil { // each operation has its own windows
		t.Fatal(err)
	}
	now = now.Add(61 * time.Second)
	if err := l.Check(ctx, "things", nil); err != nil {
		t.Fatal(err)
	}
	now = now.Add(61 * time.Second)
	if e := llm.AsError(l.Check(ctx, "things", nil)); e.HTTPStatus() != 429 || e.RetryAfter < 50*time.Minute { // rph 2
		t.Fatalf("rph: %v", e)
	}
	var none *Limits
	if err := none.Check(ctx, "things", nil); err != nil {
		t.Fatal(err)
	}
}

func TestDispatchNeverReachesTheUpstream(t *testing.T) {
	var upstream atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { upstream.Add(1) }))
	defer up.Close()
	api := compileSpec(t, dispatchSpec)
	if len(api.Tools) != 1 || api.Tools[0].Name != "things" {
		t.Fatalf("tools: %v", api.Tools)
	}
	l, err := NewLimits("m", api, map[string]RateLimit{"one": {RPM: 1}}, "passthrough", counter.NewMemory(time.Now), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	p, err := New(Options{Name: "m", API: api, Doc: api.Doc, Upstream: up.URL, BasePath: "/apis/m", Limits: l,
		LLM: func(dialect, model string) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got = dialect + " " + model + " " + r.URL.Path + " " + string(b)
				w.Write([]byte("llm"))
			})
		}})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	p.ServeHTTP(w, httptest.NewRequest("POST", "/apis/m/chat", strings.NewReader(`{"x":1}`)))
	if w.Code != 200 || w.Body.String() != "llm" || got != `anthropic fast /apis/m/chat {"x":1}` {
		t.Fatalf("dispatch: %d %q %q", w.Code, w.Body, got)
	}
	w = httptest.NewRecorder()
	p.ServeHTTP(w, httptest.NewRequest("POST", "/apis/m/chat", strings.NewReader(`{}`)))
	if w.Code != 429 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("limited dispatch: %d %v", w.Code, w.Header())
	}
	if n := upstream.Load(); n != 0 {
		t.Fatalf("upstream received %d", n)
	}
}

func TestPartitionedLimits(t *testing.T) {
	api := compileSpec(t, dispatchSpec)
	profiles := map[string]RateLimit{"one": {RPM: 1, Partition: "jwt.sub"}}
	if _, err := NewLimits("m", api, profiles, "keys", counter.NewMemory(time.Now), false, nil); err == nil ||
		!strings.Contains(err.Error(), `partitioned by jwt.sub, but the API's auth is "keys"`) ||
		!strings.Contains(err.Error(), "does not apply to an x-tidegate-dispatch operation") {
		t.Fatalf("want partition problems, got %v", err)
	}
	things := compileSpec(t, `
openapi: 3.0.3
info: {title: Things, version: 1.0.0}
paths:
  /things:
    get:
      operationId: things
      x-tidegate-middlewares: [one]
      responses: {'200': {description: ok}}
`)
	l, err := NewLimits("m", things, profiles, "jwt", counter.NewMemory(time.Now), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	alice := &Call{claims: map[string]any{"sub": "alice"}}
	bob := &Call{claims: map[string]any{"sub": "bob/../x y"}} // hashed into the key
	for _, c := range []*Call{alice, bob} {
		if err := l.Check(ctx, "things", c); err != nil {
			t.Fatalf("first call of %v: %v", c.claims, err)
		}
		if e := llm.AsError(l.Check(ctx, "things", c)); e.HTTPStatus() != 429 {
			t.Fatalf("second call of %v: %v", c.claims, e)
		}
	}
	for _, c := range []*Call{nil, {claims: map[string]any{"sub": []any{"x"}}}, {claims: map[string]any{}}} {
		if e := llm.AsError(l.Check(ctx, "things", c)); e.HTTPStatus() != 403 || e.Code != "partition_missing" {
			t.Fatalf("no sub: want 403 partition_missing, got %v", e)
		}
	}
	if got := partitionValue("alice@example.com"); got != "alice@example.com" {
		t.Fatal(got)
	}
	if got := partitionValue("a:b"); !strings.HasPrefix(got, "sha256:") {
		t.Fatal(got)
	}
}
