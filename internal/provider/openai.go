package provider

import (
	"context"
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/catalog"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/dialect/openai"
	"github.com/tidegate/tidegate/internal/dialect/responses"
	"github.com/tidegate/tidegate/internal/llm"
)

// OpenAI talks to the OpenAI API or any OpenAI-compatible server: the
// presets (Mistral, Groq, …) add their quirks, Azure its deployments.
type OpenAI struct {
	base
	quirks *quirks
	azure  *azure
	// responsesAPI: Responses API callers are relayed to /responses.
	responsesAPI bool
}

// NewOpenAI builds an OpenAI-compatible provider; cfg.Type picks the
// preset.
func NewOpenAI(name string, cfg config.Provider, cat *catalog.Catalog) *OpenAI {
	p := &OpenAI{base: newBase(name, cfg, cat), quirks: presetQuirks(cfg.Type), responsesAPI: cfg.ResponsesAPI}
	if p.quirks != nil && len(p.quirks.headers) > 0 {
		h := make(map[string]string, len(p.quirks.headers)+len(p.headers))
		for k, v := range p.quirks.headers {
			h[k] = v
		}
		for k, v := range p.headers { // config wins
			h[http.CanonicalHeaderKey(k)] = v
		}
		p.headers = h
	}
	if cfg.Type == config.TypeAzure {
		p.azure = newAzure(cfg)
	}
	return p
}

// auth is the credentials header: a bearer key, or Azure's api-key.
func (p *OpenAI) auth() http.Header {
	if p.azure != nil {
		return p.azure.header(p.apiKey)
	}
	return bearer(p.apiKey)
}

// path is where an operation goes for the upstream model.
func (p *OpenAI) path(op string, model string) string {
	if p.azure != nil {
		return p.azure.path(op, model)
	}
	return op
}

// Dialect is openai.
func (p *OpenAI) Dialect() llm.Dialect { return llm.DialectOpenAI }

// Chat sends a chat or legacy completion request. A caller speaking the
// OpenAI dialect has its body forwarded with only the model changed.
func (p *OpenAI) Chat(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	if p.responsesAPI && req.Source.Dialect == llm.DialectResponses && req.Source.Body != nil {
		return p.relayResponses(ctx, req)
	}
	completion := req.Op == llm.OpCompletion && !p.quirks.chatOnly()
	path := "/chat/completions"
	if completion {
		path = "/completions"
	}
	// A text completion sent as chat cannot pass through.
	raw := passthrough(req.Source, llm.DialectOpenAI) && (req.Op != llm.OpCompletion || completion)
	var body []byte
	var err error
	if raw {
		body, err = openai.RewriteRequest(req.Source.Body, req.Model, req.Stream)
		if err == nil {
			body, err = p.quirks.rewrite(body, req.Model, nil)
		}
	} else if err = req.Decode(); err == nil {
		if completion {
			body, err = openai.EncodeCompletionRequest(req, p.info(req.Model))
		} else {
			body, err = openai.EncodeChatRequest(req, p.info(req.Model))
			if err == nil {
				body, err = p.quirks.rewrite(body, req.Model, req)
			}
		}
	}
	if err == nil {
		body, err = p.azure.body(body, req.Model)
	}
	if err != nil {
		return nil, err
	}
	resp, err := p.post(ctx, p.path(path, req.Model), body, p.auth(), openai.DecodeError)
	if err != nil {
		return nil, err
	}
	if req.Stream {
		return p.guard(ctx, openai.NewStreamDecoder(resp.Body, raw), resp.Body), nil
	}
	data, err := p.readBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	if raw {
		if !gjson.ValidBytes(data) {
			return nil, invalidJSON(p.name)
		}
		return single(llm.Event{Type: llm.EventResponse, Response: sniffOpenAI(data, req.Op), Raw: data, RawDialect: llm.DialectOpenAI}), nil
	}
	r, err := openai.DecodeResponse(data)
	if err != nil {
		return nil, upstreamDecodeError(p.name, err)
	}
	r.Op = req.Op
	return single(llm.Event{Type: llm.EventResponse, Response: r}), nil
}

// Probe is an active health check: GET path (e.g. /models) with the key.
func (p *OpenAI) Probe(ctx context.Context, path string) error {
	return p.probe(ctx, path, p.auth())
}

// Embed creates embeddings.
func (p *OpenAI) Embed(ctx context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	raw := passthrough(req.Source, llm.DialectOpenAI)
	var body []byte
	var err error
	if raw {
		body, err = openai.RewriteRequest(req.Source.Body, req.Model, false)
	} else {
		body, err = openai.EncodeEmbedRequest(req)
	}
	if err == nil {
		body, err = p.azure.body(body, req.Model)
	}
	if err != nil {
		return nil, err
	}
	resp, err := p.post(ctx, p.path("/embeddings", req.Model), body, p.auth(), openai.DecodeError)
	if err != nil {
		return nil, err
	}
	data, err := p.readBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	if raw {
		if !gjson.ValidBytes(data) {
			return nil, invalidJSON(p.name)
		}
		return &llm.EmbedResponse{
			Model:       gjson.GetBytes(data, "model").String(),
			InputTokens: int(gjson.GetBytes(data, "usage.prompt_tokens").Int()),
			Raw:         data,
			RawDialect:  llm.DialectOpenAI,
		}, nil
	}
	r, err := openai.DecodeEmbedResponse(data)
	if err != nil {
		return nil, upstreamDecodeError(p.name, err)
	}
	return r, nil
}

// sniffOpenAI reads what the gateway needs (usage, model, finish) from a
// passthrough body in one pass over its top-level keys, without decoding
// the rest.
func sniffOpenAI(data []byte, op llm.Operation) *llm.Response {
	r := &llm.Response{StopReason: llm.StopEndTurn, Op: op}
	gjson.ParseBytes(data).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			r.ID = v.String()
		case "model":
			r.Model = v.String()
		case "choices":
			switch v.Get("0.finish_reason").Str {
			case "length":
				r.StopReason = llm.StopMaxTokens
			case "tool_calls", "function_call":
				r.StopReason = llm.StopToolUse
			case "content_filter":
				r.StopReason = llm.StopContentFilter
			}
		case "usage":
			u := gjson.GetMany(v.Raw, "prompt_tokens", "completion_tokens",
				"prompt_tokens_details.cached_tokens", "completion_tokens_details.reasoning_tokens")
			r.Usage = llm.Usage{InputTokens: int(u[0].Int()), OutputTokens: int(u[1].Int()),
				CacheReadTokens: int(u[2].Int()), ReasoningTokens: int(u[3].Int())}
		}
		return true
	})
	return r
}

// relayResponses sends a Responses API request to /responses with only
// the model changed and returns the answer as the upstream's own bytes.
func (p *OpenAI) relayResponses(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	body, err := responses.RewriteRequest(req.Source.Body, req.Model)
	if err != nil {
		return nil, err
	}
	resp, err := p.post(ctx, "/responses", body, p.auth(), openai.DecodeError)
	if err != nil {
		return nil, err
	}
	if req.Stream {
		return p.guard(ctx, responses.NewStreamDecoder(resp.Body), resp.Body), nil
	}
	data, err := p.readBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	if !gjson.ValidBytes(data) {
		return nil, invalidJSON(p.name)
	}
	return single(llm.Event{Type: llm.EventResponse, Response: responses.SniffResponse(data), Raw: data, RawDialect: llm.DialectResponses}), nil
}
