// Package testgateway starts a whole tidegate in process for tests, in
// front of fake OpenAI, Anthropic and Ollama upstreams.
package testgateway

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/app"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// Keys the gateway sends upstream; tests assert they arrive and never leak.
const (
	OpenAIKey    = "sk-upstream-openai-key-123456"
	AnthropicKey = "sk-ant-upstream-key-123456"
)

// DefaultConfig routes one public model to each fake upstream:
// gpt → OpenAI gpt-4o-mini, claude → Anthropic claude-sonnet-4-5,
// llama → Ollama llama3.2, echo → the built-in echo model, and the
// wildcards openai/*, anthropic/*, ollama/*.
const DefaultConfig = `
providers:
  oai:  {type: openai, base_url: "{{openai}}/v1", api_key: "` + OpenAIKey + `"}
  ant:  {type: anthropic, base_url: "{{anthropic}}", api_key: "` + AnthropicKey + `"}
  olla: {type: ollama, base_url: "{{ollama}}"}
  echo: {type: echo}
models:
  gpt:    {provider: oai, model: gpt-4o-mini}
  claude: {provider: ant, model: claude-sonnet-4-5}
  llama:  {provider: olla, model: llama3.2}
  echo:   {provider: echo, model: echo}
  "openai/*":    {provider: oai}
  "anthropic/*": {provider: ant}
  "ollama/*":    {provider: olla}
`

// Gateway is a running in-process tidegate and its fake upstreams.
type Gateway struct {
	URL       string
	OpenAI    *testupstream.Server
	Anthropic *testupstream.Server
	Ollama    *testupstream.Server
	// Google serves the Gemini API and Vertex AI paths; Bedrock the
	// Converse API (SigV4 checked with testupstream's credentials).
	Google  *testupstream.Server
	Bedrock *testupstream.Server
	Cohere  *testupstream.Server
	Config  *config.Config
}

// Start runs a gateway with yaml (DefaultConfig when empty); {{openai}},
// {{anthropic}}, {{ollama}}, {{google}}, {{bedrock}} and {{cohere}} are
// replaced by the fake upstreams' URLs.
// Everything is closed when the test ends.
func Start(t testing.TB, yaml string) *Gateway {
	t.Helper()
	return StartWith(t, yaml)
}

// StartWith is Start with app options (a fake clock for the router, …).
// The gateway's background work (active health checks) runs until the
// test ends.
func StartWith(t testing.TB, yaml string, opts ...app.Option) *Gateway {
	t.Helper()
	return start(t, yaml, nil, nil, opts)
}

// StartLogged is StartWith with the gateway's logs (and access log, when
// configured) written to logger.
func StartLogged(t testing.TB, yaml string, logger *slog.Logger, opts ...app.Option) *Gateway {
	t.Helper()
	return start(t, yaml, nil, logger, opts)
}

// StartFiles is StartWith for a config that names files (OpenAPI specs):
// files (name → content) and the config are written to one temporary
// directory and the config is loaded from there, so relative paths
// resolve as they do for `tidegate serve --config`.
func StartFiles(t testing.TB, yaml string, files map[string]string, opts ...app.Option) *Gateway {
	t.Helper()
	return start(t, yaml, files, nil, opts)
}

// App builds the gateway for yaml (files as for StartFiles) in process,
// with no fake upstreams and no listener, for benchmarks that serve its
// Handler themselves. It is closed when t ends; closing it earlier (to
// time the usage log's last flush) is fine.
func App(t testing.TB, yaml string, files map[string]string) *app.App {
	t.Helper()
	cfg, err := load(t, yaml, files)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	a, err := app.New(context.Background(), cfg, "test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("app: %v", err)
	}
	t.Cleanup(a.Close)
	return a
}

func start(t testing.TB, yaml string, files map[string]string, logger *slog.Logger, opts []app.Option) *Gateway {
	t.Helper()
	if yaml == "" {
		yaml = DefaultConfig
	}
	g := &Gateway{
		OpenAI:    testupstream.New("openai"),
		Anthropic: testupstream.New("anthropic"),
		Ollama:    testupstream.New("ollama"),
		Google:    testupstream.New("gemini"),
		Bedrock:   testupstream.New("bedrock"),
		Cohere:    testupstream.New("cohere"),
	}
	for _, s := range []*testupstream.Server{g.OpenAI, g.Anthropic, g.Ollama, g.Google, g.Bedrock, g.Cohere} {
		t.Cleanup(s.Close)
	}
	yaml = strings.NewReplacer("{{openai}}", g.OpenAI.URL, "{{anthropic}}", g.Anthropic.URL, "{{ollama}}", g.Ollama.URL,
		"{{google}}", g.Google.URL, "{{bedrock}}", g.Bedrock.URL, "{{cohere}}", g.Cohere.URL).Replace(yaml)
	cfg, err := load(t, yaml, files)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	g.Config = cfg
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a, err := app.New(context.Background(), cfg, "test", logger, opts...)
	if err != nil {
		t.Fatalf("app: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.RunBackground(ctx)
	}()
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		a.Close()
	})
	g.URL = srv.URL
	return g
}

func load(t testing.TB, yaml string, files map[string]string) (*config.Config, error) {
	noEnv := func(string) string { return "" }
	if files == nil {
		return config.Parse([]byte(yaml), noEnv)
	}
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "tidegate.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return config.Load(path, noEnv)
}

// Check validates yaml the way `tidegate lint` does (placeholders become
// closed local URLs), returning the load error, if any.
func Check(yaml string) error {
	const closed = "http://127.0.0.1:9"
	yaml = strings.NewReplacer("{{openai}}", closed, "{{anthropic}}", closed, "{{ollama}}", closed, "{{google}}", closed, "{{bedrock}}", closed, "{{cohere}}", closed).Replace(yaml)
	cfg, err := config.Parse([]byte(yaml), func(string) string { return "" })
	if err != nil {
		return err
	}
	return app.Check(cfg)
}
