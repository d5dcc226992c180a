// Package faults_test drives a whole in-process tidegate with raw HTTP
// requests: bad input, failing upstreams, disconnecting and slow clients.
// Every error must come back in the caller's dialect with the right status.
package faults_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// client is used for every request that is expected to end on its own; the
// timeout bounds a gateway that would hang.
var client = &http.Client{Timeout: 15 * time.Second}

// dialect is a caller dialect: the route it calls and how its errors look.
type dialect struct {
	name string
	path string
	// body builds a minimal valid request for model.
	body func(model string, stream bool) string
}

var (
	openAI = dialect{
		name: "openai",
		path: "/v1/chat/completions",
		body: func(model string, stream bool) string {
			return fmt.Sprintf(`{"model":%q,"stream":%t,"messages":[{"role":"user","content":"hello there"}]}`, model, stream)
		},
	}
	anthropic = dialect{
		name: "anthropic",
		path: "/v1/messages",
		body: func(model string, stream bool) string {
			return fmt.Sprintf(`{"model":%q,"max_tokens":64,"stream":%t,"messages":[{"role":"user","content":"hello there"}]}`, model, stream)
		},
	}
	dialects = []dialect{openAI, anthropic}
)

// route is one caller dialect in front of one public model.
type route struct {
	d     dialect
	model string
	// up returns the fake upstream that serves model.
	up func(g *testgateway.Gateway) *testupstream.Server
	// same is true when caller and upstream speak the same dialect
	// (byte passthrough).
	same bool
}

func (r route) String() string {
	kind := "translated"
	if r.same {
		kind = "passthrough"
	}
	return r.d.name + "->" + r.model + "(" + kind + ")"
}

func upOpenAI(g *testgateway.Gateway) *testupstream.Server    { return g.OpenAI }
func upAnthropic(g *testgateway.Gateway) *testupstream.Server { return g.Anthropic }

// routes covers both caller dialects against both upstream dialects.
var routes = []route{
	{openAI, "gpt", upOpenAI, true},
	{openAI, "claude", upAnthropic, false},
	{anthropic, "claude", upAnthropic, true},
	{anthropic, "gpt", upOpenAI, false},
}

// response is a fully read answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) String() string {
	return fmt.Sprintf("HTTP %d %s", r.Status, truncate(r.Body, 600))
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + fmt.Sprintf("…(%d bytes)", len(b))
	}
	return string(b)
}

// do sends one request and reads the whole answer.
func do(t *testing.T, method, url string, body io.Reader, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

func post(t *testing.T, url, body string) response {
	t.Helper()
	return do(t, http.MethodPost, url, strings.NewReader(body), nil)
}

// apiError is an error body decoded from either dialect.
type apiError struct {
	Type    string
	Message string
	Param   any // OpenAI only; nil when null or absent
	Code    any // OpenAI only
}

// wantError checks that r is an error with status in the caller's dialect
// and returns it decoded. OpenAI: {"error":{"message","type",...}};
// Anthropic: {"type":"error","error":{"type","message"}}.
func wantError(t *testing.T, d dialect, r response, status int) apiError {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: status %d, want %d; body %s", d.name, r.Status, status, truncate(r.Body, 600))
	}
	if r.Header.Get("x-request-id") == "" {
		t.Errorf("%s: error answer without x-request-id", d.name)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want application/json", d.name, ct)
	}
	var root map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &root); err != nil {
		t.Fatalf("%s: error body is not JSON: %v: %s", d.name, err, truncate(r.Body, 600))
	}
	var e struct {
		Message *string `json:"message"`
		Type    *string `json:"type"`
		Param   any     `json:"param"`
		Code    any     `json:"code"`
	}
	if err := json.Unmarshal(root["error"], &e); err != nil || e.Message == nil || e.Type == nil {
		t.Fatalf("%s: error body lacks error.message/error.type: %s", d.name, truncate(r.Body, 600))
	}
	switch d.name {
	case "openai":
		if _, ok := root["type"]; ok {
			t.Errorf("openai: error body has an Anthropic-style top-level type: %s", r.Body)
		}
	case "anthropic":
		if string(root["type"]) != `"error"` {
			t.Errorf(`anthropic: top-level type is %s, want "error": %s`, root["type"], r.Body)
		}
	}
	return apiError{Type: *e.Type, Message: *e.Message, Param: e.Param, Code: e.Code}
}

// wantType checks the error type for the dialect: the OpenAI and the
// Anthropic names of the same kind.
func wantType(t *testing.T, d dialect, e apiError, openAIType, anthropicType string) {
	t.Helper()
	want := openAIType
	if d.name == "anthropic" {
		want = anthropicType
	}
	if e.Type != want {
		t.Errorf("%s: error type %q, want %q (message %q)", d.name, e.Type, want, e.Message)
	}
}

func wantContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s %q does not contain %q", what, s, sub)
		}
	}
}

// sseFrame is one server-sent event.
type sseFrame struct {
	Event string
	Data  string
}

// streamResult is a stream read to its end (or until the deadline).
type streamResult struct {
	Status   int
	Header   http.Header
	Frames   []sseFrame
	Body     []byte // non-stream answer (an error) when Status != 200
	ReadErr  error  // how reading ended: nil for a clean EOF
	Duration time.Duration
}

// openStream starts a streaming request and returns the response with its
// body unread.
func openStream(t *testing.T, c *http.Client, url, body string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	return resp
}

// readFrames parses SSE frames from r until EOF or an error.
func readFrames(r io.Reader) ([]sseFrame, error) {
	br := bufio.NewReader(r)
	var frames []sseFrame
	var cur sseFrame
	var data []string
	have := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if err == io.EOF && line == "" {
				return frames, nil
			}
			return frames, err
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if have {
				cur.Data = strings.Join(data, "\n")
				frames = append(frames, cur)
			}
			cur, data, have = sseFrame{}, nil, false
		case strings.HasPrefix(line, "event:"):
			cur.Event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			have = true
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
			have = true
		case strings.HasPrefix(line, ":"):
		}
	}
}

// stream sends a streaming request and reads it to its end.
func stream(t *testing.T, url, body string) streamResult {
	t.Helper()
	start := time.Now()
	resp := openStream(t, client, url, body, nil)
	defer resp.Body.Close()
	res := streamResult{Status: resp.StatusCode, Header: resp.Header}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		res.Body, res.ReadErr = io.ReadAll(resp.Body)
	} else {
		res.Frames, res.ReadErr = readFrames(resp.Body)
	}
	res.Duration = time.Since(start)
	return res
}

func (s streamResult) dump() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP %d after %s, read error %v\n", s.Status, s.Duration.Round(time.Millisecond), s.ReadErr)
	for _, f := range s.Frames {
		if f.Event != "" {
			fmt.Fprintf(&b, "event: %s\n", f.Event)
		}
		fmt.Fprintf(&b, "data: %s\n\n", truncate([]byte(f.Data), 300))
	}
	if len(s.Body) > 0 {
		b.WriteString(truncate(s.Body, 600))
	}
	return b.String()
}

// streamError checks that a stream ended with an explicit error event in
// the caller's dialect and nothing that looks like a clean end, and returns
// the error's type and message.
func streamError(t *testing.T, d dialect, s streamResult) (typ, msg string) {
	t.Helper()
	if s.Status != http.StatusOK {
		t.Fatalf("%s: status %d, want 200 and a stream:\n%s", d.name, s.Status, s.dump())
	}
	if len(s.Frames) < 2 {
		t.Fatalf("%s: want content then an error event, got:\n%s", d.name, s.dump())
	}
	for _, f := range s.Frames {
		if f.Data == "[DONE]" || f.Event == "message_stop" || strings.Contains(f.Data, `"type":"message_stop"`) {
			t.Errorf("%s: stream has a clean end (%s %s) although the upstream failed:\n%s", d.name, f.Event, f.Data, s.dump())
		}
	}
	last := s.Frames[len(s.Frames)-1]
	var body struct {
		Type  string `json:"type"`
		Error *struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(last.Data), &body); err != nil || body.Error == nil {
		t.Fatalf("%s: last event is not an error: %s %s\n%s", d.name, last.Event, last.Data, s.dump())
	}
	switch d.name {
	case "openai":
		if last.Event != "" {
			t.Errorf("openai: error chunk has an event name %q; OpenAI streams use bare data lines", last.Event)
		}
	case "anthropic":
		if last.Event != "error" || body.Type != "error" {
			t.Errorf(`anthropic: last event is %q with type %q, want "event: error" with {"type":"error"}`, last.Event, body.Type)
		}
	}
	return body.Error.Type, body.Error.Message
}

// waitFor polls cond every 10ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// noUpstreamCalls fails if any fake upstream received a request.
func noUpstreamCalls(t *testing.T, g *testgateway.Gateway, what string) {
	t.Helper()
	for name, up := range map[string]*testupstream.Server{"openai": g.OpenAI, "anthropic": g.Anthropic, "ollama": g.Ollama} {
		for _, r := range up.Requests() {
			if r.Method == http.MethodGet && r.Path == "/api/tags" {
				continue // the start-up listing of Ollama models
			}
			t.Errorf("%s: the %s upstream received %s %s %s, want nothing", what, name, r.Method, r.Path, truncate(r.Body, 200))
		}
	}
}

// withoutBreakers turns circuit breakers off in a config (the default
// config when empty). The tests that use it fail one target over and over
// to check how each failure is rendered; with breakers on, the fifth
// failure would open the circuit and every later answer would be the 503
// "circuit open" instead (e2e/routing tests that behaviour).
func withoutBreakers(yaml string) string {
	if yaml == "" {
		yaml = testgateway.DefaultConfig
	}
	return yaml + "\nbreaker: {disabled: true}\n"
}
