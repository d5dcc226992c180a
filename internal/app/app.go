// Package app wires configuration, providers, router and server into a
// running gateway. cmd/tidegate only parses flags and calls it; tests build
// the same App in process.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/tidegate/tidegate/internal/catalog"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/provider"
	"github.com/tidegate/tidegate/internal/router"
	"github.com/tidegate/tidegate/internal/server"
	"github.com/tidegate/tidegate/internal/tokens"
)

// App is a configured gateway.
type App struct {
	cfg     *config.Config
	handler http.Handler
	logger  *slog.Logger
}

// New builds the gateway from a validated config.
func New(ctx context.Context, cfg *config.Config, version string, logger *slog.Logger) (*App, error) {
	cat := catalog.New(catalog.Embedded(), overrides(cfg.ModelInfo))
	providers, err := provider.Build(cfg.Providers, cat)
	if err != nil {
		return nil, err
	}
	rt := router.New(cfg.Models, providers)
	srv := server.New(server.Options{
		Router:       rt,
		Tokens:       tokens.New(),
		Logger:       logger,
		Version:      version,
		MaxBodyBytes: cfg.Server.MaxBodyBytes,
		ModelIDs:     modelIDs(ctx, rt, cfg, providers, cat, logger),
	})
	return &App{cfg: cfg, handler: srv, logger: logger}, nil
}

// Handler serves the gateway's routes.
func (a *App) Handler() http.Handler { return a.handler }

// Serve accepts connections on ln until ctx ends, then stops accepting and
// lets in-flight requests and streams finish for up to the shutdown timeout.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	s := a.cfg.Server
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: s.ReadHeaderTimeout.D(10 * time.Second),
		ReadTimeout:       s.ReadTimeout.D(5 * time.Minute),
		IdleTimeout:       s.IdleTimeout.D(2 * time.Minute),
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	grace := s.ShutdownTimeout.D(30 * time.Second)
	a.logger.Info("shutting down", "grace", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

func overrides(m map[string]config.ModelInfo) []catalog.Entry {
	var out []catalog.Entry
	for name, mi := range m {
		info := llm.ModelInfo{ContextWindow: mi.ContextWindow, MaxOutput: mi.MaxOutput}
		if mi.Reasoning != nil {
			info.Reasoning = *mi.Reasoning
		}
		out = append(out, catalog.Entry{Name: name, Info: info})
	}
	return out
}

// modelIDs is what /v1/models lists: every public name, and for wildcard
// routes the models known to be behind them (the catalogue's for OpenAI and
// Anthropic, the server's own list for Ollama).
func modelIDs(ctx context.Context, rt *router.Router, cfg *config.Config, providers map[string]llm.Provider, cat *catalog.Catalog, logger *slog.Logger) []string {
	ids := rt.Names()
	for pattern, pname := range rt.Wildcards() {
		prefix := strings.TrimSuffix(pattern, "*")
		var names []string
		switch cfg.Providers[pname].Type {
		case config.TypeOpenAI:
			names = append(cat.Names("gpt-"), cat.Names("o")...)
		case config.TypeAnthropic:
			names = cat.Names("claude-")
		case config.TypeOllama:
			if o, ok := providers[pname].(*provider.Ollama); ok {
				lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				var err error
				names, err = o.Models(lctx)
				cancel()
				if err != nil {
					logger.Warn("cannot list Ollama models", "provider", pname, "error", err)
				}
			}
		}
		for _, n := range names {
			ids = append(ids, prefix+n)
		}
	}
	sort.Strings(ids)
	return ids
}

// ProbeOllama reports whether an Ollama server answers at url.
func ProbeOllama(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/tags", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
