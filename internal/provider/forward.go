package provider

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/tidegate/tidegate/internal/llm"
)

// Forward relays req to the OpenAI-compatible upstream with the
// provider's key and headers (see llm.Forwarder). The body streams both
// ways; error bodies are read, with the key masked, so they can be
// relayed.
func (p *OpenAI) Forward(ctx context.Context, fr *llm.ForwardRequest) (*http.Response, error) {
	if p.azure != nil { // its paths depend on deployments and API versions
		return nil, &llm.Error{Kind: llm.KindInvalidRequest,
			Message: fmt.Sprintf("provider %s is Azure OpenAI, whose %s is not relayed by tidegate", p.name, fr.Path)}
	}
	rctx, cancel := context.WithCancel(ctx)
	u := p.baseURL + fr.Path
	if fr.RawQuery != "" {
		u += "?" + fr.RawQuery
	}
	req, err := http.NewRequestWithContext(rctx, fr.Method, u, fr.Body)
	if err != nil {
		cancel()
		return nil, &llm.Error{Kind: llm.KindInternal, Message: "cannot build upstream request", Err: err}
	}
	req.ContentLength = fr.ContentLength
	if fr.Body == nil {
		req.ContentLength = 0
	}
	req.Header = fr.Header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Del("Authorization")
	for k, v := range p.auth() {
		req.Header[k] = v
	}
	for k, v := range p.headers {
		req.Header.Set(k, v)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		cancel()
		return nil, p.transportError(ctx, err)
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		cancel()
		return nil, &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, UpstreamStatus: resp.StatusCode,
			Message: fmt.Sprintf("upstream %s rejected the gateway's credentials (%d): %s", p.name, resp.StatusCode, p.mask(data))}
	}
	if resp.StatusCode >= 400 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		data = p.mask(data)
		resp.Body = io.NopCloser(bytes.NewReader(data))
		resp.ContentLength = int64(len(data))
		resp.Header.Del("Content-Length")
	}
	resp.Body = newIdleBody(resp.Body, p.idleTimeout, cancel)
	return resp, nil
}
