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

func bedrockProvider(url string, cfg config.Provider) *Bedrock {
	cfg.Type, cfg.BaseURL, cfg.Region = config.TypeBedrock, url, "us-west-2"
	return NewBedrock("br", cfg, catalog.New(catalog.Embedded()))
}

// TestBedrock runs Converse and ConverseStream against a fake upstream
// that verifies the SigV4 signature with the AWS signer.
func TestBedrock(t *testing.T) {
	up := testupstream.New("bedrock")
	t.Cleanup(up.Close)
	const model = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
	up.Set(testupstream.Reply{Text: "It is sunny.", Thinking: "Check the tool result.", ToolCalls: []testupstream.ToolCall{{ID: "tooluse_9", Name: "get_time", Args: `{"tz":"UTC"}`}},
		Usage: testupstream.Usage{Input: 30, Output: 9, CacheRead: 100, CacheWrite: 20}})
	creds := map[string]config.Provider{
		"sigv4":         {AccessKeyID: testupstream.BedrockAccessKeyID, SecretAccessKey: testupstream.BedrockSecretAccessKey},
		"session token": {AccessKeyID: testupstream.BedrockAccessKeyID, SecretAccessKey: testupstream.BedrockSecretAccessKey, SessionToken: "FwoGZXIvYXdzEJr"},
		"api key":       {APIKey: testupstream.BedrockAccessKeyID},
	}
	for name, cfg := range creds {
		p := bedrockProvider(up.URL, cfg)
		for _, stream := range []bool{false, true} {
			req := toolConversation(model)
			req.Stream = stream
			var resp *llm.Response
			if stream {
				resp = collect(t, mustChat(t, p, req))
			} else {
				resp = drain(t, mustChat(t, p, req))
			}
			rec := up.Last()
			wantPath := "/model/" + model + "/converse"
			if stream {
				wantPath += "-stream"
			}
			if rec.Path != wantPath {
				t.Errorf("%s: path %s", name, rec.Path)
			}
			if cfg.SessionToken != "" && rec.Header.Get("X-Amz-Security-Token") != cfg.SessionToken {
				t.Errorf("%s: no session token header", name)
			}
			body := gjson.ParseBytes(rec.Body)
			if body.Get("messages.1.content.1.toolUse.name").String() != "get_weather" || body.Get("messages.2.content.0.toolResult.toolUseId").String() != "toolu_01A09q90qw90lq917835lq9" {
				t.Errorf("%s: body %s", name, rec.Body)
			}
			var kinds []string
			for _, c := range resp.Content {
				kinds = append(kinds, string(c.Type))
			}
			if got := strings.Join(kinds, ","); got != "thinking,text,tool_call" || resp.Text() != "It is sunny." || resp.StopReason != llm.StopToolUse {
				t.Errorf("%s stream=%v: %s %q %s", name, stream, got, resp.Text(), resp.StopReason)
			}
			if tc := resp.Content[2].ToolCall; tc.ID != "tooluse_9" || tc.Arguments != `{"tz":"UTC"}` {
				t.Errorf("tool call %+v", tc)
			}
			if resp.Content[0].Signature != "sig-1" {
				t.Errorf("signature %+v", resp.Content[0])
			}
			if u := resp.Usage; u.InputTokens != 150 || u.OutputTokens != 9 || u.CacheReadTokens != 100 || u.CacheWriteTokens != 20 {
				t.Errorf("usage %+v", u)
			}
		}
	}
}

func TestBedrockBadSignature(t *testing.T) {
	up := testupstream.New("bedrock")
	t.Cleanup(up.Close)
	p := bedrockProvider(up.URL, config.Provider{AccessKeyID: testupstream.BedrockAccessKeyID, SecretAccessKey: "wrong-secret"})
	_, err := p.Chat(context.Background(), toolConversation("amazon.nova-pro-v1:0"))
	var e *llm.Error
	if !errors.As(err, &e) || e.HTTPStatus() != 502 || e.UpstreamStatus != 403 || !strings.Contains(e.Message, "signature") {
		t.Fatalf("err = %v", err)
	}
}

func TestBedrockErrors(t *testing.T) {
	up := testupstream.New("bedrock")
	t.Cleanup(up.Close)
	p := bedrockProvider(up.URL, config.Provider{AccessKeyID: testupstream.BedrockAccessKeyID, SecretAccessKey: testupstream.BedrockSecretAccessKey})
	for _, c := range []struct{ status, want int }{{400, 400}, {429, 429}, {500, 502}, {503, 503}} {
		up.Set(testupstream.Reply{Status: c.status, Header: map[string]string{"Retry-After": "2"}})
		_, err := p.Chat(context.Background(), toolConversation("amazon.nova-pro-v1:0"))
		var e *llm.Error
		if !errors.As(err, &e) || e.HTTPStatus() != c.want || !strings.Contains(e.Message, "fake upstream error") {
			t.Errorf("%d: %v", c.status, err)
			continue
		}
		if c.status == 429 && e.RetryAfter != 2*time.Second {
			t.Errorf("Retry-After %v", e.RetryAfter)
		}
	}
}
