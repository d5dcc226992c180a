package faults_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/testbinary"
	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// timeoutsConfig is the default routing with short upstream timeouts.
const timeoutsConfig = `
providers:
  oai:  {type: openai, base_url: "{{openai}}/v1", api_key: "` + testgateway.OpenAIKey + `", first_byte_timeout: 300ms, idle_timeout: 300ms}
  ant:  {type: anthropic, base_url: "{{anthropic}}", api_key: "` + testgateway.AnthropicKey + `", first_byte_timeout: 300ms, idle_timeout: 300ms}
  echo: {type: echo}
models:
  gpt:    {provider: oai, model: gpt-4o-mini}
  claude: {provider: ant, model: claude-sonnet-4-5}
  echo:   {provider: echo, model: echo}
`

// forEachRoute runs f for every route, non-stream and stream, with fresh
// upstream state.
func forEachRoute(t *testing.T, g *testgateway.Gateway, f func(t *testing.T, rt route, up *testupstream.Server, stream bool)) {
	for _, rt := range routes {
		for _, stream := range []bool{false, true} {
			name := rt.String()
			if stream {
				name += "/stream"
			}
			t.Run(name, func(t *testing.T) {
				up := rt.up(g)
				f(t, rt, up, stream)
			})
		}
	}
}

// TestUpstream4xxSameDialect: on the passthrough path the upstream's 4xx
// status and body reach the caller unchanged.
func TestUpstream4xxSameDialect(t *testing.T) {
	g := testgateway.Start(t, "")
	bodies := map[string]string{
		"openai":    `{"error":{"message":"Invalid 'messages[0].content': string too long.","type":"invalid_request_error","param":"messages[0].content","code":"string_above_max_length"},"x_extra":[1,2]}`,
		"anthropic": `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: 999999 > 64000, which is the maximum"},"request_id":"req_011CAbc"}`,
	}
	for _, rt := range routes {
		if !rt.same {
			continue
		}
		for _, status := range []int{400, 404, 409, 413, 422} {
			for _, stream := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%d/stream=%t", rt, status, stream), func(t *testing.T) {
					up := rt.up(g)
					body := bodies[rt.d.name]
					up.Set(testupstream.Reply{Status: status, ErrorBody: body})
					r := post(t, g.URL+rt.d.path, rt.d.body(rt.model, stream))
					if r.Status != status || string(r.Body) != body {
						t.Errorf("got %s\nwant HTTP %d %s", r, status, body)
					}
				})
			}
		}
	}
}

// TestUpstream4xxTranslated: across dialects the status is kept and the
// upstream's message survives in the caller's error shape.
func TestUpstream4xxTranslated(t *testing.T) {
	g := testgateway.Start(t, "")
	cases := []struct {
		status     int
		oaiType    string // the type the caller should see, OpenAI caller
		antType    string // Anthropic caller
		upstreamOA string // OpenAI upstream error body
		upstreamAn string // Anthropic upstream error body
		message    string
	}{
		{400, "invalid_request_error", "invalid_request_error",
			`{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`,
			`{"type":"error","error":{"type":"invalid_request_error","message":"This model's maximum context length is 128000 tokens."}}`,
			"This model's maximum context length is 128000 tokens."},
		{404, "not_found_error", "not_found_error",
			`{"error":{"message":"The model 'gpt-9' does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}`,
			`{"type":"error","error":{"type":"not_found_error","message":"The model 'gpt-9' does not exist"}}`,
			"The model 'gpt-9' does not exist"},
		{422, "invalid_request_error", "invalid_request_error",
			`{"error":{"message":"unprocessable: tools[0].name","type":"invalid_request_error"}}`,
			`{"type":"error","error":{"type":"invalid_request_error","message":"unprocessable: tools[0].name"}}`,
			"unprocessable: tools[0].name"},
	}
	for _, rt := range routes {
		if rt.same {
			continue
		}
		for _, c := range cases {
			for _, stream := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%d/stream=%t", rt, c.status, stream), func(t *testing.T) {
					up := rt.up(g)
					body := c.upstreamOA
					if up == g.Anthropic {
						body = c.upstreamAn
					}
					up.Set(testupstream.Reply{Status: c.status, ErrorBody: body})
					r := post(t, g.URL+rt.d.path, rt.d.body(rt.model, stream))
					e := wantError(t, rt.d, r, c.status)
					wantType(t, rt.d, e, c.oaiType, c.antType)
					wantContains(t, "message", e.Message, c.message)
				})
			}
		}
	}
}

// TestUpstream401 is the gateway's own key being refused: a 502, never a
// 401 that would make the caller think its own key is wrong.
func TestUpstream401(t *testing.T) {
	g := testgateway.Start(t, "")
	forEachRoute(t, g, func(t *testing.T, rt route, up *testupstream.Server, stream bool) {
		up.Set(testupstream.Reply{Status: 401})
		r := post(t, g.URL+rt.d.path, rt.d.body(rt.model, stream))
		e := wantError(t, rt.d, r, http.StatusBadGateway)
		wantType(t, rt.d, e, "server_error", "api_error")
		wantContains(t, "message", e.Message, "credentials")
	})
}

// TestUpstream429 keeps the status and the Retry-After header.
func TestUpstream429(t *testing.T) {
	g := testgateway.Start(t, "")
	forEachRoute(t, g, func(t *testing.T, rt route, up *testupstream.Server, stream bool) {
		body := `{"error":{"message":"Rate limit reached for gpt-4o-mini on tokens per min (TPM)","type":"tokens","param":null,"code":"rate_limit_exceeded"}}`
		if up == g.Anthropic {
			body = `{"type":"error","error":{"type":"rate_limit_error","message":"Rate limit reached for gpt-4o-mini on tokens per min (TPM)"}}`
		}
		up.Set(testupstream.Reply{Status: 429, ErrorBody: body, Header: map[string]string{"Retry-After": "7"}})
		r := post(t, g.URL+rt.d.path, rt.d.body(rt.model, stream))
		e := wantError(t, rt.d, r, http.StatusTooManyRequests)
		if rt.same {
			if string(r.Body) != body {
				t.Errorf("same dialect: body %s, want the upstream's %s", r.Body, body)
			}
		} else {
			wantType(t, rt.d, e, "rate_limit_error", "rate_limit_error")
		}
		wantContains(t, "message", e.Message, "Rate limit reached for gpt-4o-mini")
		if got := r.Header.Get("Retry-After"); got != "7" {
			t.Errorf("Retry-After %q, want 7", got)
		}
	})
}

// TestUpstream5xx maps upstream failures by kind: a server error is a 502,
// unavailable or overloaded (Anthropic's 529) a 503.
func TestUpstream5xx(t *testing.T) {
	g := testgateway.Start(t, withoutBreakers(""))
	cases := []struct {
		upstream, want   int
		oaiType, antType string
	}{
		{500, http.StatusBadGateway, "server_error", "api_error"},
		{503, http.StatusServiceUnavailable, "service_unavailable_error", "overloaded_error"},
		{529, http.StatusServiceUnavailable, "service_unavailable_error", "overloaded_error"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.upstream), func(t *testing.T) {
			forEachRoute(t, g, func(t *testing.T, rt route, up *testupstream.Server, stream bool) {
				up.Set(testupstream.Reply{Status: c.upstream})
				r := post(t, g.URL+rt.d.path, rt.d.body(rt.model, stream))
				e := wantError(t, rt.d, r, c.want)
				if !rt.same { // the same-dialect path may relay the upstream's own body
					wantType(t, rt.d, e, c.oaiType, c.antType)
				}
				wantContains(t, "message", e.Message, fmt.Sprintf("fake upstream error %d", c.upstream))
			})
		})
	}
}

// TestUpstreamErrorKeyMasked: an upstream error that echoes the gateway's
// provider key reaches the caller with the key masked, whatever the status
// and path.
func TestUpstreamErrorKeyMasked(t *testing.T) {
	g := testgateway.Start(t, withoutBreakers(""))
	for _, status := range []int{400, 401, 429, 500} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			forEachRoute(t, g, func(t *testing.T, rt route, up *testupstream.Server, stream bool) {
				key := testgateway.OpenAIKey
				body := `{"error":{"message":"Incorrect API key provided: ` + key + `. Check your key.","type":"invalid_request_error","param":null,"code":"invalid_api_key","key":"` + key + `"}}`
				if up == g.Anthropic {
					key = testgateway.AnthropicKey
					body = `{"type":"error","error":{"type":"authentication_error","message":"Incorrect API key provided: ` + key + `. Check your key."},"key":"` + key + `"}`
				}
				up.Set(testupstream.Reply{Status: status, ErrorBody: body})
				r := post(t, g.URL+rt.d.path, rt.d.body(rt.model, stream))
				if r.Status < 400 {
					t.Fatalf("got %s, want an error", r)
				}
				if strings.Contains(string(r.Body), key) || strings.Contains(fmt.Sprint(r.Header), key) {
					t.Errorf("the provider key leaked to the caller: %s", r)
				}
				e := wantError(t, rt.d, r, r.Status)
				wantContains(t, "message", e.Message, "Incorrect API key provided")
			})
		})
	}
}

// TestUpstreamInvalidJSON: a non-stream 200 whose body is not JSON is a
// 502, and the broken bytes are never relayed.
func TestUpstreamInvalidJSON(t *testing.T) {
	g := testgateway.Start(t, "")
	for _, rt := range routes {
		t.Run(rt.String(), func(t *testing.T) {
			rt.up(g).Set(testupstream.Reply{InvalidJSON: true})
			r := post(t, g.URL+rt.d.path, rt.d.body(rt.model, false))
			e := wantError(t, rt.d, r, http.StatusBadGateway)
			wantType(t, rt.d, e, "server_error", "api_error")
			if strings.Contains(string(r.Body), "broken") {
				t.Errorf("the invalid upstream body was relayed: %s", r)
			}
		})
	}
}

// TestUpstreamFirstByteTimeout: response headers slower than
// first_byte_timeout are a 504, quickly.
func TestUpstreamFirstByteTimeout(t *testing.T) {
	g := testgateway.Start(t, timeoutsConfig)
	forEachRoute(t, g, func(t *testing.T, rt route, up *testupstream.Server, stream bool) {
		up.Set(testupstream.Reply{Text: "late", Delay: 5 * time.Second})
		start := time.Now()
		r := post(t, g.URL+rt.d.path, rt.d.body(rt.model, stream))
		if el := time.Since(start); el > 2500*time.Millisecond {
			t.Errorf("answered after %s; first_byte_timeout is 300ms", el)
		}
		e := wantError(t, rt.d, r, http.StatusGatewayTimeout)
		wantType(t, rt.d, e, "timeout_error", "timeout_error")
	})
	// Within the timeout all is well.
	g.OpenAI.Set(testupstream.Reply{Text: "in time", Delay: 50 * time.Millisecond})
	if r := post(t, g.URL+openAI.path, openAI.body("gpt", false)); r.Status != 200 || !strings.Contains(string(r.Body), "in time") {
		t.Errorf("an upstream within first_byte_timeout: %s", r)
	}
}

// TestUpstreamUnreachable: a refused connection is a 502 in the caller's
// dialect.
func TestUpstreamUnreachable(t *testing.T) {
	closed := testbinary.FreeAddr(t)
	g := testgateway.Start(t, `
providers:
  oai: {type: openai, base_url: "http://`+closed+`/v1", api_key: "k", connect_timeout: 1s}
  ant: {type: anthropic, base_url: "http://`+closed+`", api_key: "k", connect_timeout: 1s}
models:
  gpt:    {provider: oai, model: gpt-4o-mini}
  claude: {provider: ant, model: claude-sonnet-4-5}
`)
	for _, rt := range routes {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%t", rt, stream), func(t *testing.T) {
				r := post(t, g.URL+rt.d.path, rt.d.body(rt.model, stream))
				e := wantError(t, rt.d, r, http.StatusBadGateway)
				wantType(t, rt.d, e, "server_error", "api_error")
				wantContains(t, "message", e.Message, "reach")
			})
		}
	}
}
