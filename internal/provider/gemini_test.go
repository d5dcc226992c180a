package provider

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/catalog"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/testupstream"
)

const geminiKey = "AIza-gemini-key-0123456789"

func TestGeminiChat(t *testing.T) {
	up := testupstream.New("gemini")
	t.Cleanup(up.Close)
	p := NewGemini("gem", config.Provider{Type: config.TypeGemini, BaseURL: up.URL + "/v1beta", APIKey: geminiKey}, catalog.New(catalog.Embedded()))
	up.Set(testupstream.Reply{Text: "Hello there.", Thinking: "Greet back.", ToolCalls: []testupstream.ToolCall{{Name: "get_time", Args: `{"tz":"UTC"}`}},
		Usage: testupstream.Usage{Input: 20, Output: 8, CacheRead: 5}})
	for _, stream := range []bool{false, true} {
		req := toolConversation("gemini-2.5-flash")
		req.Stream = stream
		req.Tools = []llm.Tool{{Name: "get_time", Parameters: []byte(`{"type":"object","properties":{"tz":{"type":"string"}}}`)}}
		var resp *llm.Response
		if stream {
			resp = collect(t, mustChat(t, p, req))
		} else {
			resp = drain(t, mustChat(t, p, req))
		}
		rec := up.Last()
		wantPath := "/v1beta/models/gemini-2.5-flash:generateContent"
		if stream {
			wantPath = "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
			if rec.Query != "alt=sse" {
				t.Errorf("query %q", rec.Query)
			}
		}
		if rec.Path != wantPath || rec.Header.Get("x-goog-api-key") != geminiKey || rec.Header.Get("Authorization") != "" {
			t.Errorf("stream=%v: %s, headers %v", stream, rec.Path, rec.Header)
		}
		body := gjson.ParseBytes(rec.Body)
		if body.Get("contents.2.parts.0.functionResponse.name").String() != "get_weather" || body.Get("tools.0.functionDeclarations.0.name").String() != "get_time" {
			t.Errorf("body: %s", rec.Body)
		}
		var kinds []string
		for _, c := range resp.Content {
			kinds = append(kinds, string(c.Type))
		}
		if got := strings.Join(kinds, ","); got != "thinking,text,thinking,tool_call" {
			t.Errorf("stream=%v: parts %s", stream, got)
		}
		if resp.Text() != "Hello there." || resp.StopReason != llm.StopToolUse {
			t.Errorf("stream=%v: %q %s", stream, resp.Text(), resp.StopReason)
		}
		tc := resp.Content[3].ToolCall
		if tc.Name != "get_time" || tc.Arguments != `{"tz":"UTC"}` || tc.ID == "" {
			t.Errorf("tool call %+v", tc)
		}
		if resp.Content[2].Signature != "c2lnLWdlbWluaQ==" {
			t.Errorf("call signature %+v", resp.Content[2])
		}
		if u := resp.Usage; u.InputTokens != 20 || u.OutputTokens != 11 || u.CacheReadTokens != 5 || u.ReasoningTokens != 3 {
			t.Errorf("usage %+v", u)
		}
	}
	if _, err := p.Embed(context.Background(), &llm.EmbedRequest{Model: "text-embedding-004", Input: []string{"a", "b"}}); err != nil {
		t.Fatal(err)
	}
	if rec := up.Last(); rec.Path != "/v1beta/models/text-embedding-004:batchEmbedContents" || gjson.GetBytes(rec.Body, "requests.1.content.parts.0.text").String() != "b" {
		t.Errorf("embed: %s %s", rec.Path, rec.Body)
	}
}

// collect assembles a streamed response from its events.
func collect(t *testing.T, s llm.Stream) *llm.Response {
	t.Helper()
	defer s.Close()
	out := &llm.Response{}
	for {
		ev, err := s.Next()
		if err != nil {
			if err.Error() == "EOF" {
				return out
			}
			t.Fatalf("stream: %v", err)
		}
		switch ev.Type {
		case llm.EventBlockStart:
			out.Content = append(out.Content, *ev.Part)
			if tc := ev.Part.ToolCall; tc != nil {
				c := *tc
				out.Content[len(out.Content)-1].ToolCall = &c
			}
		case llm.EventDelta:
			p := &out.Content[ev.Index]
			switch {
			case p.ToolCall != nil:
				p.ToolCall.Arguments += ev.Text
			default:
				p.Text += ev.Text
				p.Signature += ev.Signature
			}
		case llm.EventFinish:
			out.StopReason = ev.StopReason
			out.Usage = *ev.Usage
		}
	}
}

func TestGeminiErrors(t *testing.T) {
	up := testupstream.New("gemini")
	t.Cleanup(up.Close)
	p := NewGemini("gem", config.Provider{Type: config.TypeGemini, BaseURL: up.URL, APIKey: geminiKey}, catalog.New())
	for _, c := range []struct {
		status, want int
		kind         llm.Kind
	}{{400, 400, llm.KindInvalidRequest}, {404, 404, llm.KindNotFound}, {429, 429, llm.KindRateLimit}, {500, 502, llm.KindUpstream}, {503, 503, llm.KindOverloaded}} {
		up.Set(testupstream.Reply{Status: c.status, Header: map[string]string{"Retry-After": "3"}})
		_, err := p.Chat(context.Background(), toolConversation("gemini-2.5-flash"))
		var e *llm.Error
		if !errors.As(err, &e) || e.HTTPStatus() != c.want || e.Kind != c.kind || e.UpstreamStatus != c.status {
			t.Errorf("%d: %v", c.status, err)
			continue
		}
		if c.status == 429 && e.RetryAfter != 3*time.Second {
			t.Errorf("Retry-After %v", e.RetryAfter)
		}
		if !strings.Contains(e.Message, "fake upstream error") {
			t.Errorf("%d: message %q", c.status, e.Message)
		}
	}
	up.Set(testupstream.Reply{Text: "Half an answer that goes on", CutAfter: 2})
	req := toolConversation("gemini-2.5-flash")
	req.Stream = true
	s := mustChat(t, p, req)
	defer s.Close()
	for {
		_, err := s.Next()
		if err == nil {
			continue
		}
		var e *llm.Error
		if !errors.As(err, &e) || e.Kind != llm.KindUpstream {
			t.Fatalf("cut stream: %v", err)
		}
		break
	}
}

func TestVertex(t *testing.T) {
	up := testupstream.New("gemini")
	t.Cleanup(up.Close)
	p, err := NewVertex("vx", config.Provider{Type: config.TypeVertex, BaseURL: up.URL, Token: "ya29.vertex-token", Project: "my-proj", Region: "us-east5"}, catalog.New(catalog.Embedded()))
	if err != nil {
		t.Fatal(err)
	}
	up.Set(testupstream.Reply{Text: "Hi from Vertex."})
	for _, c := range []struct {
		model, path string
		stream      bool
	}{
		{"gemini-2.5-pro", "/v1/projects/my-proj/locations/us-east5/publishers/google/models/gemini-2.5-pro:generateContent", false},
		{"gemini-2.5-pro", "/v1/projects/my-proj/locations/us-east5/publishers/google/models/gemini-2.5-pro:streamGenerateContent", true},
		{"claude-sonnet-4-5@20250929", "/v1/projects/my-proj/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict", false},
		{"claude-sonnet-4-5@20250929", "/v1/projects/my-proj/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict", true},
	} {
		req := toolConversation(c.model)
		req.Stream = c.stream
		var resp *llm.Response
		if c.stream {
			resp = collect(t, mustChat(t, p, req))
		} else {
			resp = drain(t, mustChat(t, p, req))
		}
		rec := up.Last()
		if rec.Path != c.path || rec.Header.Get("Authorization") != "Bearer ya29.vertex-token" {
			t.Errorf("%s stream=%v: %s %v", c.model, c.stream, rec.Path, rec.Header)
		}
		if resp.Text() != "Hi from Vertex." {
			t.Errorf("%s stream=%v: text %q", c.model, c.stream, resp.Text())
		}
		if strings.HasPrefix(c.model, "claude") {
			body := gjson.ParseBytes(rec.Body)
			if body.Get("model").Exists() || body.Get("anthropic_version").String() != VertexAnthropicVersion || body.Get("stream").Bool() != c.stream {
				t.Errorf("claude body: %s", rec.Body)
			}
		}
	}
	// An Anthropic caller's body goes through with only model and version changed.
	src := `{"model":"claude","max_tokens":50,"messages":[{"role":"user","content":"hi"}],"metadata":{"user_id":"u"}}`
	req := &llm.Request{Model: "claude-opus-4-1@20250805", Source: llm.Source{Dialect: llm.DialectAnthropic, Body: []byte(src)}}
	drain(t, mustChat(t, p, req))
	if got := string(up.Last().Body); got != `{"max_tokens":50,"messages":[{"role":"user","content":"hi"}],"metadata":{"user_id":"u"},"anthropic_version":"vertex-2023-10-16"}` {
		t.Errorf("passthrough body %s", got)
	}
}
