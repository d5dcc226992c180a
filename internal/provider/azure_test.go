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

func TestAzure(t *testing.T) {
	up := testupstream.New("openai")
	t.Cleanup(up.Close)
	cases := []struct {
		name            string
		cfg             config.Provider
		path, query     string
		header, value   string
		model           string // the body's model
		embeddingsPath  string
		embeddingsQuery string
	}{
		{
			name: "deployment and api-key",
			cfg:  config.Provider{APIKey: presetKey, APIVersion: "2024-10-21", Deployments: map[string]string{"gpt-4o-mini": "mini-prod"}},
			path: "/openai/deployments/mini-prod/chat/completions", query: "api-version=2024-10-21",
			header: "Api-Key", value: presetKey, model: "gpt-4o-mini",
			embeddingsPath: "/openai/deployments/text-embedding-3-small/embeddings", embeddingsQuery: "api-version=2024-10-21",
		},
		{
			name: "entra token, model as deployment",
			cfg:  config.Provider{Token: "eyJ-entra-token", APIVersion: "2025-01-01-preview"},
			path: "/openai/deployments/gpt-4o-mini/chat/completions", query: "api-version=2025-01-01-preview",
			header: "Authorization", value: "Bearer eyJ-entra-token", model: "gpt-4o-mini",
			embeddingsPath: "/openai/deployments/text-embedding-3-small/embeddings", embeddingsQuery: "api-version=2025-01-01-preview",
		},
		{
			name: "v1 API: deployment in the body",
			cfg:  config.Provider{APIKey: presetKey, APIVersion: "v1", Deployments: map[string]string{"gpt-4o-mini": "mini-prod"}},
			path: "/openai/v1/chat/completions", header: "Api-Key", value: presetKey, model: "mini-prod",
			embeddingsPath: "/openai/v1/embeddings",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Type, c.cfg.BaseURL = config.TypeAzure, up.URL
			p := NewOpenAI("az", c.cfg, catalog.New(catalog.Embedded()))
			for _, stream := range []bool{false, true} {
				req := passthroughReq("gpt-4o-mini", stream, `{"model":"gpt-4o-mini","stream":`+map[bool]string{true: "true", false: "false"}[stream]+`,"messages":[{"role":"user","content":"hi"}]}`)
				drain(t, mustChat(t, p, req))
				rec := up.Last()
				if rec.Path != c.path || rec.Query != c.query {
					t.Errorf("stream=%v: %s?%s, want %s?%s", stream, rec.Path, rec.Query, c.path, c.query)
				}
				if rec.Header.Get(c.header) != c.value {
					t.Errorf("%s = %q", c.header, rec.Header.Get(c.header))
				}
				if c.header != "Authorization" && rec.Header.Get("Authorization") != "" {
					t.Error("a bearer header was sent with api-key")
				}
				if got := gjson.GetBytes(rec.Body, "model").String(); got != c.model {
					t.Errorf("body model %q, want %q", got, c.model)
				}
			}
			if _, err := p.Embed(context.Background(), &llm.EmbedRequest{Model: "text-embedding-3-small", Input: []string{"a"}}); err != nil {
				t.Fatal(err)
			}
			if rec := up.Last(); rec.Path != c.embeddingsPath || rec.Query != c.embeddingsQuery {
				t.Errorf("embeddings: %s?%s", rec.Path, rec.Query)
			}
		})
	}
}

// TestPresetErrors: an upstream 4xx keeps its status, a 5xx is a 502,
// a 429 carries its Retry-After, and the key never leaks.
func TestPresetErrors(t *testing.T) {
	up := testupstream.New("openai")
	t.Cleanup(up.Close)
	for _, typ := range []string{config.TypeMistral, config.TypeAzure} {
		p := NewOpenAI(typ, config.Provider{Type: typ, BaseURL: up.URL, APIKey: presetKey, APIVersion: "2024-10-21"}, catalog.New())
		for _, c := range []struct {
			status, want int
			retry        time.Duration
		}{{422, 422, 0}, {429, 429, 7 * time.Second}, {500, 502, 0}} {
			up.Set(testupstream.Reply{Status: c.status, Header: map[string]string{"Retry-After": "7"},
				ErrorBody: `{"object":"error","message":"bad key ` + presetKey + `","type":"invalid_request_error"}`})
			_, err := p.Chat(context.Background(), toolConversation("m"))
			var e *llm.Error
			if !errors.As(err, &e) {
				t.Fatalf("%s %d: %v", typ, c.status, err)
			}
			if e.HTTPStatus() != c.want || e.UpstreamStatus != c.status {
				t.Errorf("%s %d: status %d (upstream %d)", typ, c.status, e.HTTPStatus(), e.UpstreamStatus)
			}
			if c.retry != 0 && e.RetryAfter != c.retry {
				t.Errorf("%s: Retry-After %v", typ, e.RetryAfter)
			}
			if strings.Contains(e.Message, presetKey) || strings.Contains(string(e.Body), presetKey) {
				t.Errorf("%s: key leaked: %s / %s", typ, e.Message, e.Body)
			}
		}
	}
}
