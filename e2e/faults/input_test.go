package faults_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/testgateway"
)

// TestBadRequestBodies sends malformed, mistyped and incomplete bodies to
// both dialects; each is a 400 in the caller's dialect naming the problem,
// and nothing reaches an upstream.
func TestBadRequestBodies(t *testing.T) {
	g := testgateway.Start(t, "")
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	cases := []struct {
		name  string
		body  string // %M is replaced by the route's passthrough model
		param string // OpenAI param; "" means null
		msg   []string
	}{
		{"malformed JSON", `{"model":"%M",` + msgs, "", []string{"not valid JSON"}},
		{"truncated JSON", `{"model":"%M","messages":[{"role":"user","content":"hi"`, "", []string{"not valid JSON"}},
		{"trailing garbage", `{"model":"%M",` + msgs + `} x`, "", []string{"not valid JSON"}},
		{"not an object", `[{"model":"%M"}]`, "", []string{"JSON object"}},
		{"a bare string", `"hello"`, "", []string{"JSON object"}},
		{"empty body", ``, "", []string{"empty"}},
		{"messages an object", `{"model":"%M","max_tokens":9,"messages":{"role":"user","content":"hi"}}`, "messages", []string{"messages", "array"}},
		{"messages a string", `{"model":"%M","max_tokens":9,"messages":"hi"}`, "messages", []string{"messages", "array"}},
		{"model a number", `{"model":42,"max_tokens":9,` + msgs + `}`, "model", []string{"model", "string"}},
		{"model empty", `{"model":"","max_tokens":9,` + msgs + `}`, "model", []string{"model"}},
		{"model null", `{"model":null,"max_tokens":9,` + msgs + `}`, "model", []string{"model"}},
		{"stream a string", `{"model":"%M","max_tokens":9,"stream":"true",` + msgs + `}`, "stream", []string{"stream", "boolean"}},
		{"stream a number", `{"model":"%M","max_tokens":9,"stream":1,` + msgs + `}`, "stream", []string{"stream", "boolean"}},
		{"missing model", `{"max_tokens":9,` + msgs + `}`, "model", []string{"model", "required"}},
		{"missing messages", `{"model":"%M","max_tokens":9}`, "messages", []string{"messages", "required"}},
	}
	for _, d := range dialects {
		model := "gpt"
		if d.name == "anthropic" {
			model = "claude"
		}
		for _, c := range cases {
			t.Run(d.name+"/"+c.name, func(t *testing.T) {
				r := post(t, g.URL+d.path, strings.ReplaceAll(c.body, "%M", model))
				e := wantError(t, d, r, http.StatusBadRequest)
				wantType(t, d, e, "invalid_request_error", "invalid_request_error")
				wantContains(t, "message", e.Message, c.msg...)
				if d.name == "openai" {
					if c.param == "" && e.Param != nil {
						t.Errorf("param %v, want null", e.Param)
					}
					if c.param != "" && e.Param != c.param {
						t.Errorf("param %v, want %q", e.Param, c.param)
					}
				}
			})
		}
	}
	noUpstreamCalls(t, g, "bad request bodies")
}

// TestInvalidUTF8 sends otherwise valid requests carrying invalid UTF-8 to
// every generation path, the same-dialect passthrough included: each is a
// 400 and the upstream receives nothing.
func TestInvalidUTF8(t *testing.T) {
	g := testgateway.Start(t, "")
	bad := map[string]string{
		"stray byte":        "bad \xff here",
		"continuation only": "bad \x80 here",
		"overlong slash":    "bad \xc0\xaf here",
		"UTF-16 surrogate":  "bad \xed\xa0\x80 here",
		"truncated rune":    "bad \xe2\x82",
	}
	type target struct {
		d          dialect
		path       string
		model      string
		extra      string
		bodyFormat string // %s model, %s content
	}
	chat := `{"model":"%s",%s"messages":[{"role":"user","content":"%s"}]}`
	targets := []target{
		{openAI, "/v1/chat/completions", "gpt", ``, chat},
		{openAI, "/v1/chat/completions", "gpt", `"stream":true,`, chat},
		{openAI, "/v1/chat/completions", "claude", ``, chat},
		{openAI, "/v1/chat/completions", "echo", ``, chat},
		{openAI, "/v1/completions", "gpt", ``, `{"model":"%s",%s"prompt":"%s"}`},
		{openAI, "/v1/embeddings", "gpt", ``, `{"model":"%s",%s"input":"%s"}`},
		{anthropic, "/v1/messages", "claude", `"max_tokens":9,`, chat},
		{anthropic, "/v1/messages", "claude", `"max_tokens":9,"stream":true,`, chat},
		{anthropic, "/v1/messages", "gpt", `"max_tokens":9,`, chat},
		{anthropic, "/v1/messages", "echo", `"max_tokens":9,`, chat},
		{anthropic, "/v1/messages/count_tokens", "claude", ``, chat},
	}
	for _, tg := range targets {
		for name, content := range bad {
			body := fmt.Sprintf(tg.bodyFormat, tg.model, tg.extra, content)
			t.Run(tg.path+"/"+tg.model+tg.extra+"/"+name, func(t *testing.T) {
				r := post(t, g.URL+tg.path, body)
				e := wantError(t, tg.d, r, http.StatusBadRequest)
				wantType(t, tg.d, e, "invalid_request_error", "invalid_request_error")
				wantContains(t, "message", e.Message, "UTF-8")
			})
		}
	}
	// The key may be invalid too, not only a value.
	r := post(t, g.URL+"/v1/chat/completions", "{\"model\":\"gpt\",\"mess\xffages\":[]}")
	wantContains(t, "message", wantError(t, openAI, r, http.StatusBadRequest).Message, "UTF-8")
	noUpstreamCalls(t, g, "invalid UTF-8")
}

// TestDeepNesting sends hostile nesting: a fast 400, and the gateway keeps
// serving.
func TestDeepNesting(t *testing.T) {
	g := testgateway.Start(t, "")
	deep := strings.Repeat("[", 100_000)
	bodies := map[string]string{
		"top level":       deep,
		"in messages":     `{"model":"gpt","max_tokens":9,"messages":` + deep,
		"closed properly": `{"model":"gpt","max_tokens":9,"messages":[{"role":"user","content":"x","x":` + deep + strings.Repeat("]", 100_000) + `}]}`,
		"objects":         `{"model":"gpt","a":` + strings.Repeat(`{"a":`, 50_000) + `1` + strings.Repeat("}", 50_000) + `}`,
	}
	for _, d := range dialects {
		for name, body := range bodies {
			t.Run(d.name+"/"+name, func(t *testing.T) {
				start := time.Now()
				r := post(t, g.URL+d.path, body)
				if el := time.Since(start); el > 2*time.Second {
					t.Errorf("took %s, want a fast rejection", el)
				}
				e := wantError(t, d, r, http.StatusBadRequest)
				wantType(t, d, e, "invalid_request_error", "invalid_request_error")
				wantContains(t, "message", e.Message, "nest")
			})
		}
	}
	// Still serving, in both dialects.
	for _, d := range dialects {
		if r := post(t, g.URL+d.path, d.body("echo", false)); r.Status != http.StatusOK {
			t.Errorf("%s: echo after deep nesting: %s", d.name, r)
		}
	}
	noUpstreamCalls(t, g, "deep nesting")
}

// bodyOfSize returns a valid echo request of exactly n bytes.
func bodyOfSize(d dialect, n int) string {
	b := d.body("echo", false)
	pad := n - len(b)
	if pad < 0 {
		panic("too small")
	}
	return strings.Replace(b, "hello there", "hello there"+strings.Repeat(" ", pad), 1)
}

// chunked hides the length of a body so the client sends it chunked.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

// TestBodyTooLarge checks max_body_bytes: a body at the limit passes, one
// byte more is a 413 in the caller's dialect, whether the size is announced
// by Content-Length or only discovered while reading a chunked body.
func TestBodyTooLarge(t *testing.T) {
	const limit = 4096
	g := testgateway.Start(t, `
server: {max_body_bytes: 4096}
providers:
  oai:  {type: openai, base_url: "{{openai}}/v1", api_key: "`+testgateway.OpenAIKey+`"}
  ant:  {type: anthropic, base_url: "{{anthropic}}", api_key: "`+testgateway.AnthropicKey+`"}
  echo: {type: echo}
models:
  gpt:    {provider: oai, model: gpt-4o-mini}
  claude: {provider: ant, model: claude-sonnet-4-5}
  echo:   {provider: echo, model: echo}
`)
	for _, d := range dialects {
		for _, mode := range []string{"content-length", "chunked"} {
			send := func(body string) response {
				var rd io.Reader = strings.NewReader(body)
				if mode == "chunked" {
					rd = chunked{rd}
				}
				return do(t, http.MethodPost, g.URL+d.path, rd, nil)
			}
			t.Run(d.name+"/"+mode, func(t *testing.T) {
				if r := send(bodyOfSize(d, limit)); r.Status != http.StatusOK {
					t.Errorf("body of exactly the limit: %s, want 200", r)
				}
				for _, size := range []int{limit + 1, 64 << 10} {
					e := wantError(t, d, send(bodyOfSize(d, size)), http.StatusRequestEntityTooLarge)
					wantType(t, d, e, "invalid_request_error", "request_too_large")
					wantContains(t, "message", e.Message, "4096")
				}
				// The same for a passthrough model: nothing goes upstream.
				big := strings.Replace(bodyOfSize(d, 64<<10), `"echo"`, `"gpt"`, 1)
				wantError(t, d, send(big), http.StatusRequestEntityTooLarge)
			})
		}
	}
	noUpstreamCalls(t, g, "bodies over the limit")
}

// TestUnknownModel: a 404 whose message tells how to list the models.
func TestUnknownModel(t *testing.T) {
	g := testgateway.Start(t, "")
	for _, d := range dialects {
		for _, model := range []string{"no-such-model", "openai/", "gpt-4o-mini"} {
			t.Run(d.name+"/"+model, func(t *testing.T) {
				for _, stream := range []bool{false, true} {
					r := post(t, g.URL+d.path, d.body(model, stream))
					e := wantError(t, d, r, http.StatusNotFound)
					wantType(t, d, e, "not_found_error", "not_found_error")
					wantContains(t, "message", e.Message, model, "/v1/models")
					if d.name == "openai" && (e.Param != "model" || e.Code != "model_not_found") {
						t.Errorf("param %v code %v, want model / model_not_found", e.Param, e.Code)
					}
				}
			})
		}
	}
	r := do(t, http.MethodGet, g.URL+"/v1/models/no-such-model", nil, nil)
	wantContains(t, "message", wantError(t, openAI, r, http.StatusNotFound).Message, "/v1/models")
	noUpstreamCalls(t, g, "unknown models")
}

// TestUnknownRoute: a path or method the gateway does not serve is an
// error in the dialect the path belongs to.
func TestUnknownRoute(t *testing.T) {
	g := testgateway.Start(t, "")
	cases := []struct {
		d            dialect
		method, path string
	}{
		{openAI, http.MethodGet, "/v1/chat/completions"},
		{openAI, http.MethodPost, "/v1/chat/completion"},
		{openAI, http.MethodPost, "/v2/whatever"},
		{anthropic, http.MethodGet, "/v1/messages"},
		{anthropic, http.MethodPost, "/v1/messages/batches"},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			r := do(t, c.method, g.URL+c.path, strings.NewReader(c.d.body("echo", false)), nil)
			if r.Status != http.StatusNotFound && r.Status != http.StatusMethodNotAllowed {
				t.Errorf("status %d, want 404 or 405", r.Status)
			}
			e := wantError(t, c.d, r, r.Status)
			wantContains(t, "message", e.Message, c.path)
		})
	}
}
