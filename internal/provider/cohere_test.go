package provider

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/catalog"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/testupstream"
)

func TestCohere(t *testing.T) {
	up := testupstream.New("cohere")
	t.Cleanup(up.Close)
	p := NewCohere("co", config.Provider{Type: config.TypeCohere, BaseURL: up.URL, APIKey: presetKey}, catalog.New(catalog.Embedded()))
	up.Set(testupstream.Reply{Text: "It is mild.", Thinking: "Look it up.", ToolCalls: []testupstream.ToolCall{{ID: "get_time_1", Name: "get_time", Args: `{"tz":"UTC"}`}},
		Usage: testupstream.Usage{Input: 40, Output: 7, CacheRead: 32}})
	for _, stream := range []bool{false, true} {
		req := toolConversation("command-a-03-2025")
		req.Stream = stream
		var resp *llm.Response
		if stream {
			resp = collect(t, mustChat(t, p, req))
		} else {
			resp = drain(t, mustChat(t, p, req))
		}
		rec := up.Last()
		body := gjson.ParseBytes(rec.Body)
		if rec.Path != "/v2/chat" || rec.Header.Get("Authorization") != "Bearer "+presetKey || body.Get("messages.2.role").String() != "tool" || body.Get("messages.2.tool_call_id").String() != "toolu_01A09q90qw90lq917835lq9" {
			t.Errorf("stream=%v: %s %s", stream, rec.Path, rec.Body)
		}
		if len(resp.Content) != 3 || resp.Content[0].Type != llm.PartThinking || resp.Text() != "It is mild." || resp.StopReason != llm.StopToolUse {
			t.Errorf("stream=%v: %+v %s", stream, resp.Content, resp.StopReason)
		}
		if tc := resp.Content[2].ToolCall; tc == nil || tc.ID != "get_time_1" || tc.Arguments != `{"tz":"UTC"}` {
			t.Errorf("stream=%v: tool call %+v", stream, resp.Content[2])
		}
		if u := resp.Usage; u.InputTokens != 40 || u.OutputTokens != 7 || u.CacheReadTokens != 32 {
			t.Errorf("usage %+v", u)
		}
	}
	er, err := p.Embed(context.Background(), &llm.EmbedRequest{Model: "embed-v4.0", Input: []string{"a", "b"}})
	if err != nil || len(er.Embeddings) != 2 || er.InputTokens != 2 {
		t.Fatalf("embed: %+v %v", er, err)
	}
	if rec := up.Last(); rec.Path != "/v2/embed" || gjson.GetBytes(rec.Body, "texts.1").String() != "b" {
		t.Errorf("embed request %s %s", rec.Path, rec.Body)
	}
	for _, c := range []struct{ status, want int }{{400, 400}, {429, 429}, {500, 502}} {
		up.Set(testupstream.Reply{Status: c.status, Header: map[string]string{"Retry-After": "4"}})
		_, err := p.Chat(context.Background(), toolConversation("command-a-03-2025"))
		var e *llm.Error
		if !errors.As(err, &e) || e.HTTPStatus() != c.want || e.Message != fmt.Sprintf("fake upstream error %d", c.status) {
			t.Errorf("%d: %v", c.status, err)
		} else if c.status == 429 && e.RetryAfter != 4*time.Second {
			t.Errorf("Retry-After %v", e.RetryAfter)
		}
	}
}
