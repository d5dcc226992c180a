package provider

import (
	"context"
	"net/http"

	"github.com/tidegate/tidegate/internal/catalog"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/dialect/ollama"
	"github.com/tidegate/tidegate/internal/llm"
)

// Ollama talks to Ollama's native API (/api/chat with NDJSON streaming,
// /api/embed). No caller speaks its dialect, so requests are always
// translated.
type Ollama struct{ base }

// NewOllama builds an Ollama provider.
func NewOllama(name string, cfg config.Provider, cat *catalog.Catalog) *Ollama {
	return &Ollama{newBase(name, cfg, cat)}
}

// Dialect is ollama.
func (p *Ollama) Dialect() llm.Dialect { return llm.DialectOllama }

func (p *Ollama) header() http.Header { return bearer(p.apiKey) }

// Chat translates the request to /api/chat.
func (p *Ollama) Chat(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	if err := req.Decode(); err != nil {
		return nil, err
	}
	body, err := ollama.EncodeChatRequest(promptAsMessages(req), p.info(req.Model))
	if err != nil {
		return nil, err
	}
	resp, err := p.post(ctx, "/api/chat", body, p.header(), ollama.DecodeError)
	if err != nil {
		return nil, err
	}
	if req.Stream {
		return p.guard(ctx, ollama.NewStreamDecoder(resp.Body), resp.Body), nil
	}
	data, err := p.readBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	r, err := ollama.DecodeResponse(data)
	if err != nil {
		return nil, upstreamDecodeError(p.name, err)
	}
	r.Op = req.Op
	return single(llm.Event{Type: llm.EventResponse, Response: r}), nil
}

// Embed translates to /api/embed.
func (p *Ollama) Embed(ctx context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	if len(req.Input) == 0 {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "input", Message: "input must be a string or an array of strings for Ollama models"}
	}
	body, err := ollama.EncodeEmbedRequest(req)
	if err != nil {
		return nil, err
	}
	resp, err := p.post(ctx, "/api/embed", body, p.header(), ollama.DecodeError)
	if err != nil {
		return nil, err
	}
	data, err := p.readBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	r, err := ollama.DecodeEmbedResponse(data)
	if err != nil {
		return nil, upstreamDecodeError(p.name, err)
	}
	return r, nil
}

// Probe is an active health check: GET path (e.g. /api/tags).
func (p *Ollama) Probe(ctx context.Context, path string) error {
	return p.probe(ctx, path, p.header())
}

// Models lists the models the Ollama server has pulled.
func (p *Ollama) Models(ctx context.Context) ([]string, error) {
	data, err := p.get(ctx, "/api/tags", p.header())
	if err != nil {
		return nil, err
	}
	return ollama.DecodeTags(data)
}
