package app

import (
	"log/slog"

	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/toolloop"
)

// buildToolLoops builds the tool loop of each tool_loops: model: one
// Remote per MCP server (shared by the models that name it; nothing is
// dialled before the first request) and the APIs' MCP servers in process.
func buildToolLoops(cfg *config.Config, inbound *apis, version string, logger *slog.Logger) map[string]*toolloop.Loop {
	if len(cfg.ToolLoops) == 0 {
		return nil
	}
	remotes := map[string]*toolloop.Remote{}
	for name, s := range cfg.MCPServers {
		remotes[name] = toolloop.NewRemote(toolloop.RemoteOptions{
			Name: name, URL: s.URL, Headers: s.Headers, AllowedTools: s.AllowedTools,
			Timeout: s.Timeout.D(0), Version: version,
		})
	}
	loops := make(map[string]*toolloop.Loop, len(cfg.ToolLoops))
	for model, l := range cfg.ToolLoops {
		var sources []toolloop.Source
		for _, s := range l.MCPServers {
			sources = append(sources, remotes[s])
		}
		for _, a := range l.APIs {
			auth := cfg.APIs[a].Auth
			sources = append(sources, inbound.servers[a].Source(a, auth == config.APIAuthKeys || auth == config.APIAuthJWT))
		}
		loops[model] = toolloop.New(toolloop.Options{Sources: sources, MaxCallDepth: l.MaxCallDepth, Logger: logger.With("model", model)})
	}
	return loops
}
