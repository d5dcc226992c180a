package provider

import (
	"context"
	"encoding/json"

	"github.com/tidegate/tidegate/internal/catalog"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/dialect/cohere"
	"github.com/tidegate/tidegate/internal/llm"
)

// Cohere talks to Cohere's v2 API (/v2/chat, /v2/embed) with a bearer
// key. Requests are always translated.
type Cohere struct{ base }

// NewCohere builds a Cohere provider.
func NewCohere(name string, cfg config.Provider, cat *catalog.Catalog) *Cohere {
	return &Cohere{newBase(name, cfg, cat)}
}

// Dialect is cohere.
func (p *Cohere) Dialect() llm.Dialect { return cohere.Dialect }

// Chat translates the request to /v2/chat.
func (p *Cohere) Chat(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	if err := req.Decode(); err != nil {
		return nil, err
	}
	body, err := cohere.EncodeRequest(req, p.info(req.Model))
	if err != nil {
		return nil, err
	}
	resp, err := p.post(ctx, "/v2/chat", body, bearer(p.apiKey), cohere.DecodeError)
	if err != nil {
		return nil, err
	}
	if req.Stream {
		return p.guard(ctx, cohere.NewStreamDecoder(resp.Body), resp.Body), nil
	}
	data, err := p.readBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	r, err := cohere.DecodeResponse(data)
	if err != nil {
		return nil, upstreamDecodeError(p.name, err)
	}
	r.Model, r.Op = req.Model, req.Op
	return single(llm.Event{Type: llm.EventResponse, Response: r}), nil
}

// Embed sends the inputs to /v2/embed as documents, asking for floats.
func (p *Cohere) Embed(ctx context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	if len(req.Input) == 0 {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "input", Message: "input must be a string or an array of strings for Cohere models"}
	}
	in := map[string]any{"model": req.Model, "texts": req.Input, "input_type": "search_document", "embedding_types": []string{"float"}}
	if req.Dimensions > 0 {
		in["output_dimension"] = req.Dimensions
	}
	body, err := json.Marshal(in)
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindInternal, Message: "cannot encode the embeddings request", Err: err}
	}
	resp, err := p.post(ctx, "/v2/embed", body, bearer(p.apiKey), cohere.DecodeError)
	if err != nil {
		return nil, err
	}
	data, err := p.readBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	var out struct {
		Embeddings struct {
			Float [][]float32 `json:"float"`
		} `json:"embeddings"`
		Meta struct {
			BilledUnits struct {
				InputTokens float64 `json:"input_tokens"`
			} `json:"billed_units"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(data, &out); err != nil || len(out.Embeddings.Float) != len(req.Input) {
		return nil, &llm.Error{Kind: llm.KindUpstream, Message: "upstream " + p.name + " sent an invalid embeddings response", Err: err}
	}
	return &llm.EmbedResponse{Model: req.Model, Embeddings: out.Embeddings.Float, InputTokens: int(out.Meta.BilledUnits.InputTokens)}, nil
}

// Probe is an active health check: GET path (e.g. /v1/models) with the key.
func (p *Cohere) Probe(ctx context.Context, path string) error {
	return p.probe(ctx, path, bearer(p.apiKey))
}
