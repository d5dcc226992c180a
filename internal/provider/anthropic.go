package provider

import (
	"context"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/catalog"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/dialect/anthropic"
	"github.com/tidegate/tidegate/internal/llm"
)

// Anthropic talks to the Anthropic Messages API with a pinned version.
type Anthropic struct{ base }

// NewAnthropic builds an Anthropic provider.
func NewAnthropic(name string, cfg config.Provider, cat *catalog.Catalog) *Anthropic {
	return &Anthropic{newBase(name, cfg, cat)}
}

// Dialect is anthropic.
func (p *Anthropic) Dialect() llm.Dialect { return llm.DialectAnthropic }

// header carries the key, the pinned version (whatever the caller sent) and
// the caller's anthropic-beta flags, which select features upstream.
func (p *Anthropic) header(src llm.Source) http.Header {
	h := make(http.Header, 4)
	if p.apiKey != "" {
		h.Set("x-api-key", p.apiKey)
	}
	h.Set("anthropic-version", anthropic.Version)
	if src.Header != nil {
		if betas := src.Header.Values("anthropic-beta"); len(betas) > 0 {
			h.Set("anthropic-beta", strings.Join(betas, ","))
		}
	}
	return h
}

// Chat sends a Messages request. A caller speaking the Anthropic dialect has
// its body forwarded with only the model changed.
func (p *Anthropic) Chat(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	body, raw, err := p.anthropicBody(req)
	if err != nil {
		return nil, err
	}
	resp, err := p.post(ctx, "/v1/messages", body, p.header(req.Source), anthropic.DecodeError)
	if err != nil {
		return nil, err
	}
	return p.anthropicAnswer(ctx, req, resp, raw)
}

// anthropicBody is a Messages request body: the caller's own with only the
// model changed when it speaks the Anthropic dialect (raw), else encoded
// from the canonical request.
func (p *base) anthropicBody(req *llm.Request) (body []byte, raw bool, err error) {
	if passthrough(req.Source, llm.DialectAnthropic) {
		body, err = anthropic.RewriteRequest(req.Source.Body, req.Model, req.Stream)
		return body, true, err
	}
	if err = req.Decode(); err != nil {
		return nil, false, err
	}
	body, err = anthropic.EncodeMessagesRequest(promptAsMessages(req), p.info(req.Model))
	return body, false, err
}

// anthropicAnswer reads a Messages answer: a stream, the upstream's bytes
// for a raw caller, or the decoded response.
func (p *base) anthropicAnswer(ctx context.Context, req *llm.Request, resp *http.Response, raw bool) (llm.Stream, error) {
	if req.Stream {
		return p.guard(ctx, anthropic.NewStreamDecoder(resp.Body, raw), resp.Body), nil
	}
	data, err := p.readBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	if raw {
		if !gjson.ValidBytes(data) {
			return nil, invalidJSON(p.name)
		}
		return single(llm.Event{Type: llm.EventResponse, Response: sniffAnthropic(data), Raw: data, RawDialect: llm.DialectAnthropic}), nil
	}
	r, err := anthropic.DecodeResponse(data)
	if err != nil {
		return nil, upstreamDecodeError(p.name, err)
	}
	r.Op = req.Op
	return single(llm.Event{Type: llm.EventResponse, Response: r}), nil
}

// Probe is an active health check: GET path (e.g. /v1/models) with the key.
func (p *Anthropic) Probe(ctx context.Context, path string) error {
	return p.probe(ctx, path, p.header(llm.Source{}))
}

// CountTokens asks the upstream for the exact prompt size.
func (p *Anthropic) CountTokens(ctx context.Context, req *llm.Request) (int, error) {
	var body []byte
	var err error
	if passthrough(req.Source, llm.DialectAnthropic) {
		body, err = anthropic.RewriteRequest(req.Source.Body, req.Model, false)
	} else if err = req.Decode(); err == nil {
		body, err = anthropic.EncodeCountTokensRequest(req)
	}
	if err != nil {
		return 0, err
	}
	resp, err := p.post(ctx, "/v1/messages/count_tokens", body, p.header(req.Source), anthropic.DecodeError)
	if err != nil {
		return 0, err
	}
	data, err := p.readBody(ctx, resp)
	if err != nil {
		return 0, err
	}
	n, err := anthropic.DecodeCountTokensResponse(data)
	if err != nil {
		return 0, upstreamDecodeError(p.name, err)
	}
	return n, nil
}

// Embed is not offered by Anthropic.
func (p *Anthropic) Embed(context.Context, *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	return nil, llm.Errorf(llm.KindInvalidRequest, "provider %s (anthropic) does not offer embeddings", p.name)
}

// sniffAnthropic reads usage and stop reason from a passthrough body in
// one pass over its top-level keys.
func sniffAnthropic(data []byte) *llm.Response {
	r := &llm.Response{}
	gjson.ParseBytes(data).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			r.ID = v.String()
		case "model":
			r.Model = v.String()
		case "stop_reason":
			r.StopReason = llm.StopReason(v.String())
		case "stop_sequence":
			r.StopSequence = v.String()
		case "usage":
			u := gjson.GetMany(v.Raw, "input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
			read, write := int(u[2].Int()), int(u[3].Int())
			r.Usage = llm.Usage{InputTokens: int(u[0].Int()) + read + write, OutputTokens: int(u[1].Int()),
				CacheReadTokens: read, CacheWriteTokens: write}
		}
		return true
	})
	return r
}

// promptAsMessages turns a legacy completion prompt into one user message
// for upstreams that only chat.
func promptAsMessages(req *llm.Request) *llm.Request {
	if req.Op != llm.OpCompletion || len(req.Messages) > 0 {
		return req
	}
	c := *req
	c.Messages = []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{llm.TextPart(req.Prompt)}}}
	return &c
}
