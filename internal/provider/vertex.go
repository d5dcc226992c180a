package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/tidwall/sjson"

	"github.com/tidegate/tidegate/internal/catalog"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/dialect/anthropic"
	"github.com/tidegate/tidegate/internal/dialect/gemini"
	"github.com/tidegate/tidegate/internal/llm"
)

// VertexAnthropicVersion is the anthropic_version Vertex AI expects in
// the body of Claude requests (instead of the anthropic-version header).
const VertexAnthropicVersion = "vertex-2023-10-16"

// Vertex talks to Google Vertex AI: Claude models (names starting with
// "claude") through the Anthropic publisher's rawPredict and
// streamRawPredict with the Anthropic Messages body, every other model
// through the Google publisher's generateContent (the Gemini wire format).
// It authenticates with a bearer access token: a fixed one from config,
// or one minted and refreshed from Google credentials (a credentials file,
// or Application Default Credentials).
type Vertex struct {
	gemini  *Gemini
	project string
	region  string
}

// cloudPlatform is the OAuth scope Vertex AI needs.
const cloudPlatform = "https://www.googleapis.com/auth/cloud-platform"

// NewVertex builds a Vertex AI provider. Without a token it loads Google
// credentials now, so missing credentials fail at start.
func NewVertex(name string, cfg config.Provider, cat *catalog.Catalog) (*Vertex, error) {
	v := &Vertex{project: cfg.Project, region: cfg.Region}
	g := &Gemini{base: newBase(name, cfg, cat)}
	g.modelPath = func(model string) string { return v.publisher("google") + url.PathEscape(model) }
	if cfg.Token != "" {
		g.header = func() (http.Header, error) { return bearer(cfg.Token), nil }
	} else {
		ts, err := googleTokens(cfg.CredentialsFile)
		if err != nil {
			return nil, fmt.Errorf("providers.%s: %w", name, err)
		}
		g.header = func() (http.Header, error) {
			tok, err := ts.Token()
			if err != nil {
				return nil, &llm.Error{Kind: llm.KindUpstream, Message: "cannot get a Google access token for " + name, Err: err}
			}
			return bearer(tok.AccessToken), nil
		}
	}
	v.gemini = g
	return v, nil
}

// googleTokens returns a caching token source from a credentials file
// (service account or authorized user JSON) or, with no file, from
// Application Default Credentials.
func googleTokens(file string) (oauth2.TokenSource, error) {
	// Token requests get their own bounded client, not the caller's context.
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: 30 * time.Second})
	if file == "" {
		creds, err := google.FindDefaultCredentials(ctx, cloudPlatform)
		if err != nil {
			return nil, fmt.Errorf("no token and no Google Application Default Credentials: %w", err)
		}
		return creds.TokenSource, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("credentials_file: %w", err)
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("credentials_file %s is not JSON: %w", file, err)
	}
	typ := google.CredentialsType(head.Type)
	if typ != google.ServiceAccount && typ != google.AuthorizedUser {
		return nil, fmt.Errorf("credentials_file %s: type %q is not service_account or authorized_user", file, head.Type)
	}
	creds, err := google.CredentialsFromJSONWithType(ctx, data, typ, cloudPlatform)
	if err != nil {
		return nil, fmt.Errorf("credentials_file %s: %w", file, err)
	}
	return creds.TokenSource, nil
}

// publisher is the path prefix of a publisher's models.
func (v *Vertex) publisher(name string) string {
	return "/v1/projects/" + url.PathEscape(v.project) + "/locations/" + url.PathEscape(v.region) + "/publishers/" + name + "/models/"
}

// Name is the configured name.
func (v *Vertex) Name() string { return v.gemini.name }

// Dialect is gemini; Claude requests are translated too (the body is not
// the caller's), but their answers are Anthropic streams.
func (v *Vertex) Dialect() llm.Dialect { return gemini.Dialect }

// CloseIdleConnections releases idle upstream connections.
func (v *Vertex) CloseIdleConnections() { v.gemini.CloseIdleConnections() }

func isClaude(model string) bool { return strings.HasPrefix(model, "claude") }

// Chat sends Claude models to the Anthropic publisher, others to Gemini.
func (v *Vertex) Chat(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	if !isClaude(req.Model) {
		return v.gemini.Chat(ctx, req)
	}
	p := &v.gemini.base
	body, raw, err := p.anthropicBody(req)
	if err == nil {
		body, err = vertexClaudeBody(body)
	}
	if err != nil {
		return nil, err
	}
	method := ":rawPredict"
	if req.Stream {
		method = ":streamRawPredict"
	}
	header, err := v.gemini.header()
	if err != nil {
		return nil, err
	}
	resp, err := p.post(ctx, v.publisher("anthropic")+url.PathEscape(req.Model)+method, body, header, anthropic.DecodeError)
	if err != nil {
		return nil, err
	}
	return p.anthropicAnswer(ctx, req, resp, raw)
}

// vertexClaudeBody moves the model to the URL and pins Vertex's version.
func vertexClaudeBody(body []byte) ([]byte, error) {
	out, err := sjson.DeleteBytes(body, "model")
	if err == nil {
		out, err = sjson.SetBytes(out, "anthropic_version", VertexAnthropicVersion)
	}
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Message: "cannot rewrite request body", Err: err}
	}
	return out, nil
}

// Probe is an active health check: GET path with the token.
func (v *Vertex) Probe(ctx context.Context, path string) error {
	return v.gemini.Probe(ctx, path)
}

// Embed uses Gemini embeddings; Claude has none.
func (v *Vertex) Embed(ctx context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	if isClaude(req.Model) {
		return nil, llm.Errorf(llm.KindInvalidRequest, "model %s does not offer embeddings", req.Model)
	}
	return nil, llm.Errorf(llm.KindInvalidRequest, "embeddings are not supported on Vertex AI providers yet (model %s)", req.Model)
}
