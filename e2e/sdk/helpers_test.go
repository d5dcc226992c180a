// Package sdk_test drives the whole gateway (testgateway: tidegate in front
// of fake OpenAI, Anthropic and Ollama upstreams) with the official OpenAI
// and Anthropic Go SDKs as clients, and checks what the SDKs see and what
// the upstreams receive.
package sdk_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// callerKey is the caller's own API key; it must never reach an upstream.
const callerKey = "sk-caller-own-key-must-not-leak-42"

// Public model names of testgateway.DefaultConfig and what they map to.
const (
	modelGPT    = "gpt"    // oai  → OpenAI fake, gpt-4o-mini
	modelClaude = "claude" // ant  → Anthropic fake, claude-sonnet-4-5
	modelLlama  = "llama"  // olla → Ollama fake, llama3.2
	modelEcho   = "echo"   // built in

	upGPT    = "gpt-4o-mini"
	upClaude = "claude-sonnet-4-5"
	upLlama  = "llama3.2"

	// claudeMaxOutput is the catalogue's max output of claude-sonnet-4-5,
	// which fills max_tokens when the caller sets none.
	claudeMaxOutput = 64000
)

// route describes one public model: its provider name and upstream model,
// and the fake upstream behind it (nil for echo).
type route struct {
	model    string
	provider string
	upModel  string
	fake     func(g *testgateway.Gateway) *testupstream.Server
}

var (
	routeGPT    = route{modelGPT, "oai", upGPT, func(g *testgateway.Gateway) *testupstream.Server { return g.OpenAI }}
	routeClaude = route{modelClaude, "ant", upClaude, func(g *testgateway.Gateway) *testupstream.Server { return g.Anthropic }}
	routeLlama  = route{modelLlama, "olla", upLlama, func(g *testgateway.Gateway) *testupstream.Server { return g.Ollama }}
	routeEcho   = route{modelEcho, "echo", "echo", nil}

	upstreamRoutes = []route{routeGPT, routeClaude, routeLlama}
	allRoutes      = []route{routeGPT, routeClaude, routeLlama, routeEcho}
)

// twoTools is the fake model's answer when it calls two tools.
var twoTools = []testupstream.ToolCall{
	{ID: "call_weather_1", Name: "get_weather", Args: `{"city":"Paris","unit":"celsius","days":[1,2,3]}`},
	{ID: "call_time_2", Name: "get_time", Args: `{"tz":"Europe/Paris","format":"24h"}`},
}

func start(t *testing.T) *testgateway.Gateway {
	t.Helper()
	return testgateway.Start(t, "")
}

// oaiClient is an OpenAI SDK client pointed at the gateway.
func oaiClient(g *testgateway.Gateway, opts ...option.RequestOption) *openai.Client {
	base := []option.RequestOption{
		option.WithBaseURL(g.URL + "/v1"),
		option.WithAPIKey(callerKey),
		option.WithMaxRetries(0),
	}
	c := openai.NewClient(append(base, opts...)...)
	return &c
}

// antClient is an Anthropic SDK client pointed at the gateway.
func antClient(g *testgateway.Gateway, opts ...aoption.RequestOption) *anthropic.Client {
	base := []aoption.RequestOption{
		aoption.WithoutEnvironmentDefaults(),
		aoption.WithBaseURL(g.URL),
		aoption.WithAPIKey(callerKey),
		aoption.WithMaxRetries(0),
	}
	c := anthropic.NewClient(append(base, opts...)...)
	return &c
}

// bodyCapture records the bodies an SDK sends (as an SDK middleware).
type bodyCapture struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (c *bodyCapture) record(req *http.Request) {
	if req.Body == nil {
		return
	}
	b, _ := io.ReadAll(req.Body)
	req.Body.Close()
	req.Body = io.NopCloser(bytes.NewReader(b))
	c.mu.Lock()
	c.bodies = append(c.bodies, b)
	c.mu.Unlock()
}

func (c *bodyCapture) last(t *testing.T) []byte {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.bodies) == 0 {
		t.Fatal("the SDK sent no body")
	}
	return c.bodies[len(c.bodies)-1]
}

func (c *bodyCapture) openai() option.RequestOption {
	return option.WithMiddleware(func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		c.record(req)
		return next(req)
	})
}

func (c *bodyCapture) anthropic() aoption.RequestOption {
	return aoption.WithMiddleware(func(req *http.Request, next aoption.MiddlewareNext) (*http.Response, error) {
		c.record(req)
		return next(req)
	})
}

// requests returns what a fake upstream received, without the model list
// the gateway fetches from Ollama when it starts (GET /api/tags).
func requests(s *testupstream.Server) []testupstream.Recorded {
	var out []testupstream.Recorded
	for _, r := range s.Requests() {
		if r.Method == http.MethodGet && r.Path == "/api/tags" {
			continue
		}
		out = append(out, r)
	}
	return out
}

// onlyRequest returns the single request a fake upstream received.
func onlyRequest(t *testing.T, s *testupstream.Server) testupstream.Recorded {
	t.Helper()
	reqs := requests(s)
	if len(reqs) != 1 {
		t.Fatalf("upstream received %d requests, want 1", len(reqs))
	}
	return reqs[0]
}

// canon re-encodes JSON text with sorted keys and no spaces, so two texts
// compare equal when they hold the same JSON value.
func canon(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %v: %q", err, s)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// assertJSONEq fails unless got and want hold the same JSON value.
func assertJSONEq(t *testing.T, what, got, want string) {
	t.Helper()
	if g, w := canon(t, got), canon(t, want); g != w {
		t.Errorf("%s:\n got  %s\n want %s", what, g, w)
	}
}

// assertJSONPath fails unless the value at path of body is want (compared
// as JSON values).
func assertJSONPath(t *testing.T, body []byte, path, want string) {
	t.Helper()
	r := gjson.GetBytes(body, path)
	if !r.Exists() {
		t.Errorf("upstream body has no %s; body: %s", path, body)
		return
	}
	assertJSONEq(t, "upstream "+path, r.Raw, want)
}

func assertEq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func assertDeepEq(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

var requestIDRe = regexp.MustCompile(`^req_[0-9a-f]{24}$`)

// assertGatewayHeaders checks the headers of a generation answer.
func assertGatewayHeaders(t *testing.T, h http.Header, provider, upModel string) {
	t.Helper()
	assertEq(t, "x-tidegate-provider", h.Get("x-tidegate-provider"), provider)
	assertEq(t, "x-tidegate-model", h.Get("x-tidegate-model"), upModel)
	assertEq(t, "x-tidegate-attempts", h.Get("x-tidegate-attempts"), "1")
	if id := h.Get("x-request-id"); !requestIDRe.MatchString(id) {
		t.Errorf("x-request-id = %q, want req_ and 24 hex digits", id)
	}
}

// assertNoCallerKey fails if the caller's key appears in any header the
// upstream received.
func assertNoCallerKey(t *testing.T, h http.Header) {
	t.Helper()
	for k, vs := range h {
		for _, v := range vs {
			if strings.Contains(v, callerKey) {
				t.Errorf("upstream header %s carries the caller's key: %q", k, v)
			}
		}
	}
}

// rawPost sends body to the gateway and returns status, header and body.
func rawPost(t *testing.T, url string, body string, header map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, data
}
