package apigw

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/openapi"
)

const spec = `
openapi: 3.0.3
info: {title: Orders, version: 1.0.0}
servers: [{url: https://orders.example.com/v9}]
paths:
  /orders:
    post:
      operationId: createOrder
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/NewOrder'}
      responses: {'201': {description: created}}
  /orders/{id}:
    get:
      operationId: getOrder
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
        - {name: expand, in: query, schema: {type: string, enum: [items, customer]}}
      responses: {'200': {description: ok}}
  /stream:
    get:
      operationId: stream
      responses: {'200': {description: ok}}
  /slow:
    get:
      operationId: slow
      responses: {'200': {description: ok}}
components:
  schemas:
    NewOrder:
      type: object
      required: [item, quantity]
      properties:
        item: {type: string}
        quantity: {type: integer, minimum: 1}
`

type seen struct {
	mu   sync.Mutex
	reqs []*http.Request
	body []string
}

func (s *seen) add(r *http.Request, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, r)
	s.body = append(s.body, body)
}

func (s *seen) last(t *testing.T) (*http.Request, string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		t.Fatal("nothing reached the upstream")
	}
	return s.reqs[len(s.reqs)-1], s.body[len(s.body)-1]
}

func (s *seen) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// setup runs a proxy mounted at /apis/orders in front of an upstream
// mounted at /api.
func setup(t *testing.T, timeout time.Duration) (gw string, up *seen, release chan struct{}) {
	t.Helper()
	up = &seen{}
	release = make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		up.add(r, string(b))
		switch r.URL.Path {
		case "/api/stream":
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write([]byte("data: first\n\n"))
			w.(http.Flusher).Flush()
			<-release
			w.Write([]byte("data: second\n\n"))
		case "/api/slow":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Upstream", "yes")
			w.WriteHeader(http.StatusTeapot)
			w.Write([]byte(`{"path":"` + r.URL.Path + `"}`))
		}
	}))
	t.Cleanup(upstream.Close)
	path := filepath.Join(t.TempDir(), "orders.yaml")
	if err := os.WriteFile(path, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	doc, err := openapi.Load(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Options{Name: "orders", Doc: doc, Upstream: upstream.URL + "/api", BasePath: "/apis/orders",
		Timeout: timeout, Headers: map[string]string{"X-Service-Token": "svc"}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/apis/orders/", p)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	return srv.URL, up, release
}

func do(t *testing.T, method, url, body string, h map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func errMessage(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Error struct{ Type, Message string }
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Message == "" {
		t.Fatalf("not an error body: %s", body)
	}
	return e.Error.Type + ": " + e.Error.Message
}

func TestForwardsValidRequests(t *testing.T) {
	gw, up, _ := setup(t, 5*time.Second)
	resp, body := do(t, "GET", gw+"/apis/orders/orders/7?expand=items", "", map[string]string{
		"Authorization": "Bearer caller", "Connection": "X-Hop", "X-Hop": "1"})
	if resp.StatusCode != http.StatusTeapot || body != `{"path":"/api/orders/7"}` || resp.Header.Get("X-Upstream") != "yes" {
		t.Fatalf("%d %s %v", resp.StatusCode, body, resp.Header)
	}
	r, _ := up.last(t)
	if r.URL.RawQuery != "expand=items" || r.Header.Get("Authorization") != "Bearer caller" || r.Header.Get("X-Service-Token") != "svc" {
		t.Fatalf("upstream saw %s %v", r.URL, r.Header)
	}
	if r.Header.Get("X-Hop") != "" || r.Header.Get("X-Forwarded-For") == "" {
		t.Fatalf("hop-by-hop or forwarding headers: %v", r.Header)
	}

	resp, _ = do(t, "POST", gw+"/apis/orders/orders", `{"item":"tea","quantity":2,"note":"kept"}`, map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode != http.StatusTeapot {
		t.Fatalf("post: %d", resp.StatusCode)
	}
	if _, b := up.last(t); b != `{"item":"tea","quantity":2,"note":"kept"}` {
		t.Fatalf("body changed: %s", b)
	}
}

func TestRefusesInvalidRequests(t *testing.T) {
	gw, up, _ := setup(t, 5*time.Second)
	json := map[string]string{"Content-Type": "application/json"}
	for _, c := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"GET", "/apis/orders/orders/abc", "", 400, `parameter "id" in path`},
		{"GET", "/apis/orders/orders/7?expand=everything", "", 400, `parameter "expand" in query`},
		{"POST", "/apis/orders/orders", `{"item":"tea"}`, 400, "quantity"},
		{"POST", "/apis/orders/orders", `{"item":"tea","quantity":0}`, 400, "at /quantity"},
		{"POST", "/apis/orders/orders", `{not json`, 400, "request body"},
		{"POST", "/apis/orders/orders", ``, 400, "request body"},
		{"GET", "/apis/orders/nope", "", 404, "not_found: no operation matches GET /apis/orders/nope"},
		{"DELETE", "/apis/orders/orders/7", "", 405, "DELETE is not an operation"},
	} {
		resp, body := do(t, c.method, gw+c.path, c.body, json)
		if resp.StatusCode != c.status {
			t.Errorf("%s %s: %d %s", c.method, c.path, resp.StatusCode, body)
			continue
		}
		if msg := errMessage(t, body); !strings.Contains(msg, c.want) {
			t.Errorf("%s %s: %q lacks %q", c.method, c.path, msg, c.want)
		}
		if strings.Contains(body, "Schema:") {
			t.Errorf("schema dump in %s", body)
		}
	}
	if n := up.count(); n != 0 {
		t.Fatalf("%d invalid requests reached the upstream", n)
	}
}

func TestStreamsResponses(t *testing.T) {
	gw, _, release := setup(t, 5*time.Second)
	resp, err := http.Get(gw + "/apis/orders/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "data: first\n" {
		t.Fatalf("first event before the upstream ended: %q %v", line, err)
	}
	close(release)
}

func TestUpstreamTimeoutAndFailure(t *testing.T) {
	gw, _, _ := setup(t, 100*time.Millisecond)
	resp, body := do(t, "GET", gw+"/apis/orders/slow", "", nil)
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(errMessage(t, body), "did not answer within 100ms") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}

	path := filepath.Join(t.TempDir(), "s.yaml")
	os.WriteFile(path, []byte(spec), 0o600)
	doc, err := openapi.Load(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Options{Name: "x", Doc: doc, Upstream: "http://127.0.0.1:1", BasePath: "/x"})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("GET", "/x/orders/1", nil))
	if rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), "cannot be reached") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
