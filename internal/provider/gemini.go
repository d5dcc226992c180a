package provider

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/tidegate/tidegate/internal/catalog"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/dialect/gemini"
	"github.com/tidegate/tidegate/internal/llm"
)

// Gemini talks to Google's Gemini API natively (generateContent,
// streamGenerateContent?alt=sse, batchEmbedContents) with the key in
// x-goog-api-key. No caller speaks its dialect, so requests are always
// translated. Vertex AI serves the same wire format under another path.
type Gemini struct {
	base
	// modelPath is the URL path of a model, before ":method".
	modelPath func(model string) string
	header    func() (http.Header, error)
}

// NewGemini builds a Gemini Developer API provider.
func NewGemini(name string, cfg config.Provider, cat *catalog.Catalog) *Gemini {
	p := &Gemini{base: newBase(name, cfg, cat)}
	p.modelPath = func(model string) string { return "/models/" + url.PathEscape(strings.TrimPrefix(model, "models/")) }
	p.header = func() (http.Header, error) {
		h := make(http.Header, 4)
		if p.apiKey != "" {
			h.Set("x-goog-api-key", p.apiKey)
		}
		return h, nil
	}
	return p
}

// Dialect is gemini.
func (p *Gemini) Dialect() llm.Dialect { return gemini.Dialect }

// Chat translates the request to generateContent, or to
// streamGenerateContent with SSE framing for a stream.
func (p *Gemini) Chat(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	if err := req.Decode(); err != nil {
		return nil, err
	}
	body, err := gemini.EncodeRequest(req, p.info(req.Model))
	if err != nil {
		return nil, err
	}
	path := p.modelPath(req.Model) + ":generateContent"
	if req.Stream {
		path = p.modelPath(req.Model) + ":streamGenerateContent?alt=sse"
	}
	header, err := p.header()
	if err != nil {
		return nil, err
	}
	resp, err := p.post(ctx, path, body, header, gemini.DecodeError)
	if err != nil {
		return nil, err
	}
	if req.Stream {
		return p.guard(ctx, gemini.NewStreamDecoder(resp.Body), resp.Body), nil
	}
	data, err := p.readBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	r, err := gemini.DecodeResponse(data)
	if err != nil {
		return nil, p.maskError(upstreamDecodeError(p.name, err))
	}
	if r.Model == "" {
		r.Model = req.Model
	}
	r.Op = req.Op
	return single(llm.Event{Type: llm.EventResponse, Response: r}), nil
}

// Embed sends the inputs to batchEmbedContents, one request per input.
func (p *Gemini) Embed(ctx context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	if len(req.Input) == 0 {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "input", Message: "input must be a string or an array of strings for Gemini models"}
	}
	type part struct {
		Text string `json:"text"`
	}
	type content struct {
		Parts []part `json:"parts"`
	}
	type embedReq struct {
		Model                string  `json:"model"`
		Content              content `json:"content"`
		OutputDimensionality int     `json:"outputDimensionality,omitempty"`
	}
	model := "models/" + strings.TrimPrefix(req.Model, "models/")
	reqs := make([]embedReq, len(req.Input))
	for i, in := range req.Input {
		reqs[i] = embedReq{Model: model, Content: content{Parts: []part{{Text: in}}}, OutputDimensionality: req.Dimensions}
	}
	body, err := json.Marshal(map[string]any{"requests": reqs})
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindInternal, Message: "cannot encode the embeddings request", Err: err}
	}
	header, err := p.header()
	if err != nil {
		return nil, err
	}
	resp, err := p.post(ctx, p.modelPath(req.Model)+":batchEmbedContents", body, header, gemini.DecodeError)
	if err != nil {
		return nil, err
	}
	data, err := p.readBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	var out struct {
		Embeddings []struct {
			Values []float32 `json:"values"`
		} `json:"embeddings"`
	}
	if err := json.Unmarshal(data, &out); err != nil || len(out.Embeddings) != len(req.Input) {
		return nil, &llm.Error{Kind: llm.KindUpstream, Message: "upstream " + p.name + " sent an invalid embeddings response", Err: err}
	}
	r := &llm.EmbedResponse{Model: req.Model}
	for _, e := range out.Embeddings {
		r.Embeddings = append(r.Embeddings, e.Values)
	}
	return r, nil
}

// Probe is an active health check: GET path (e.g. /models) with the key.
func (p *Gemini) Probe(ctx context.Context, path string) error {
	header, err := p.header()
	if err != nil {
		return err
	}
	return p.probe(ctx, path, header)
}
