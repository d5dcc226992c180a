// Package provider holds the upstream clients (OpenAI-compatible,
// Anthropic, Ollama, and the built-in echo model). Each turns a canonical
// request into one HTTP call in its own dialect and hands back a pull-based
// llm.Stream. Wire conversion lives in internal/dialect.
package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/tidegate/tidegate/internal/catalog"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/llm"
)

// Limits on what is read from an upstream outside of streams.
const (
	maxErrorBody    = 1 << 20
	maxResponseBody = 64 << 20
)

// Default timeouts; each is a per-provider setting.
const (
	defaultConnectTimeout   = 10 * time.Second
	defaultFirstByteTimeout = 10 * time.Minute
	defaultIdleTimeout      = 5 * time.Minute
)

// base is what every HTTP provider shares: its name, endpoint, key, extra
// headers, client and timeouts.
type base struct {
	name        string
	baseURL     string
	apiKey      string
	headers     map[string]string
	client      *http.Client
	idleTimeout time.Duration
	catalog     *catalog.Catalog
	// sign, when set, signs each request once its headers are final
	// (Bedrock's SigV4).
	sign func(req *http.Request, body []byte) error
}

func newBase(name string, cfg config.Provider, cat *catalog.Catalog) base {
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout.D(defaultConnectTimeout), KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.ConnectTimeout.D(defaultConnectTimeout),
		ResponseHeaderTimeout: cfg.FirstByteTimeout.D(defaultFirstByteTimeout),
		ExpectContinueTimeout: time.Second,
	}
	return base{
		name:        name,
		baseURL:     cfg.BaseURL,
		apiKey:      cfg.APIKey,
		headers:     cfg.Headers,
		client:      &http.Client{Transport: transport},
		idleTimeout: cfg.IdleTimeout.D(defaultIdleTimeout),
		catalog:     cat,
	}
}

// Name is the provider's configured name.
func (b *base) Name() string { return b.name }

// post sends body to path and returns the response when its status is 2xx.
// Any other status is read and turned into an *llm.Error by decodeErr.
// The response body is wrapped so that a silence longer than the idle
// timeout cancels the request.
func (b *base) post(ctx context.Context, path string, body []byte, header http.Header, decodeErr func(int, []byte) *llm.Error) (*http.Response, error) {
	rctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, b.baseURL+path, bytes.NewReader(body))
	if err != nil {
		cancel()
		return nil, &llm.Error{Kind: llm.KindInternal, Message: "cannot build upstream request", Err: err}
	}
	req.Header = header
	req.Header.Set("Content-Type", "application/json")
	for k, v := range b.headers {
		req.Header.Set(k, v)
	}
	if trace.SpanContextFromContext(ctx).IsValid() {
		// The attempt's client span (tracing on): W3C traceparent upstream.
		propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(req.Header))
	}
	if b.sign != nil {
		if err := b.sign(req, body); err != nil {
			cancel()
			return nil, &llm.Error{Kind: llm.KindInternal, Message: "cannot sign the upstream request", Err: err}
		}
	}
	resp, err := b.client.Do(req)
	if err != nil {
		cancel()
		return nil, b.transportError(ctx, err)
	}
	if resp.StatusCode/100 != 2 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		cancel()
		e := b.maskError(decodeErr(resp.StatusCode, data))
		e.RetryAfter = retryAfter(resp.Header)
		e.UpstreamStatus = resp.StatusCode
		if resp.StatusCode >= 500 {
			// The upstream's server error is a bad gateway for our caller:
			// 502, or 503/504 for overload and timeouts, as the kind says.
			// UpstreamStatus keeps the original for retry decisions.
			e.Status = 0
		}
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			// The caller's credentials never go upstream, so this is the
			// gateway's own key: a gateway fault, not the caller's.
			return nil, &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, UpstreamStatus: resp.StatusCode,
				Message: fmt.Sprintf("upstream %s rejected the gateway's credentials (%d): %s", b.name, resp.StatusCode, e.Message)}
		}
		return nil, e
	}
	resp.Body = newIdleBody(resp.Body, b.idleTimeout, cancel)
	return resp, nil
}

// get fetches path (used for health probes and model lists).
func (b *base) get(ctx context.Context, path string, header http.Header) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.baseURL+path, nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header = header
	for k, v := range b.headers {
		req.Header.Set(k, v)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, b.transportError(ctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return nil, b.transportError(ctx, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, &llm.Error{Kind: llm.KindForStatus(resp.StatusCode), Status: resp.StatusCode, UpstreamStatus: resp.StatusCode,
			Message: fmt.Sprintf("upstream %s answered %d", b.name, resp.StatusCode)}
	}
	return data, nil
}

// probe GETs path for an active health check; any non-2xx answer or
// transport failure is an error.
func (b *base) probe(ctx context.Context, path string, header http.Header) error {
	_, err := b.get(ctx, path, header)
	return err
}

// CloseIdleConnections releases the provider's idle upstream connections
// (on shutdown, and between tests).
func (b *base) CloseIdleConnections() { b.client.CloseIdleConnections() }

// readBody reads a whole non-stream response body.
func (b *base) readBody(ctx context.Context, resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return nil, b.transportError(ctx, err)
	}
	if len(data) > maxResponseBody {
		return nil, &llm.Error{Kind: llm.KindUpstream, Message: fmt.Sprintf("upstream %s response exceeds %d bytes", b.name, maxResponseBody)}
	}
	return data, nil
}

// transportError classifies a failure to talk to the upstream.
func (b *base) transportError(ctx context.Context, err error) *llm.Error {
	var e *llm.Error
	if errors.As(err, &e) {
		return e
	}
	var ne net.Error
	switch {
	case errors.Is(err, errIdle):
		return &llm.Error{Kind: llm.KindTimeout, Message: fmt.Sprintf("upstream %s went silent for longer than %s", b.name, b.idleTimeout), Err: err}
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &llm.Error{Kind: llm.KindTimeout, Message: fmt.Sprintf("upstream %s timed out", b.name), Err: err}
	case ctx.Err() != nil:
		return &llm.Error{Kind: llm.KindUpstream, Status: 499, Message: "request cancelled", Err: err}
	case errors.As(err, &ne) && ne.Timeout():
		return &llm.Error{Kind: llm.KindTimeout, Message: fmt.Sprintf("upstream %s timed out", b.name), Err: err}
	default:
		return &llm.Error{Kind: llm.KindUpstream, Message: fmt.Sprintf("cannot reach upstream %s", b.name), Err: err}
	}
}

// maskError removes the provider key from an upstream error.
func (b *base) maskError(e *llm.Error) *llm.Error {
	e.Body = b.mask(e.Body)
	e.Message = string(b.mask([]byte(e.Message)))
	return e
}

// mask removes the provider key from anything an upstream echoes back.
func (b *base) mask(data []byte) []byte {
	if len(b.apiKey) < 8 || !bytes.Contains(data, []byte(b.apiKey)) {
		return data
	}
	return bytes.ReplaceAll(data, []byte(b.apiKey), []byte("[REDACTED]"))
}

// retryAfter reads Retry-After (seconds or HTTP date) or retry-after-ms.
func retryAfter(h http.Header) time.Duration {
	if v := h.Get("retry-after-ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

var errIdle = errors.New("upstream idle timeout")

// idleBody cancels the request when no byte arrives for the idle timeout,
// so a stalled upstream stream cannot hold a caller forever.
type idleBody struct {
	rc     io.ReadCloser
	timer  *time.Timer
	d      time.Duration
	cancel context.CancelFunc
	mu     sync.Mutex
	fired  bool
}

func newIdleBody(rc io.ReadCloser, d time.Duration, cancel context.CancelFunc) *idleBody {
	b := &idleBody{rc: rc, d: d, cancel: cancel}
	b.timer = time.AfterFunc(d, func() {
		b.mu.Lock()
		b.fired = true
		b.mu.Unlock()
		cancel()
	})
	return b
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.timer.Reset(b.d)
	}
	if err != nil && err != io.EOF && b.timedOut() {
		return n, errIdle
	}
	return n, err
}

func (b *idleBody) timedOut() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.fired
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.rc.Close()
	b.cancel()
	return err
}

// bearer builds the auth header for OpenAI-style upstreams.
func bearer(key string) http.Header {
	h := make(http.Header, 4)
	if key != "" {
		h.Set("Authorization", "Bearer "+key)
	}
	return h
}

// upstreamModelInfo finds catalogue limits for the upstream model.
func (b *base) info(model string) llm.ModelInfo { return b.catalog.Lookup(model) }

// joinErr wraps a decoder error as a 502, keeping its kind if it has one.
func upstreamDecodeError(name string, err error) *llm.Error {
	var e *llm.Error
	if errors.As(err, &e) {
		return e
	}
	return &llm.Error{Kind: llm.KindUpstream, Message: fmt.Sprintf("upstream %s sent an invalid response", name), Err: err}
}
