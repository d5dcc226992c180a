package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestToolLoops(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(spec, []byte("openapi: 3.0.3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := `
providers: {echo: {type: echo}}
models: {echo: {provider: echo, model: echo}}
aliases: {helper: echo}
apis:
  orders: {spec: ` + spec + `, upstream: "http://127.0.0.1:9"}
  hidden: {spec: ` + spec + `, upstream: "http://127.0.0.1:9", mcp: {enabled: false}}
`
	cfg, err := Parse([]byte(base+`
mcp_servers:
  weather: {url: "https://mcp.example.com/mcp", headers: {Authorization: "Bearer x"}, allowed_tools: [forecast], timeout: 10s}
tool_loops:
  echo: {mcp_servers: [weather], apis: [orders], max_call_depth: 3}
  helper: {apis: [orders]}
`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if l := cfg.ToolLoops["echo"]; l.MaxCallDepth != 3 || l.MCPServers[0] != "weather" || cfg.MCPServers["weather"].AllowedTools[0] != "forecast" {
		t.Fatalf("%+v", cfg.ToolLoops)
	}
	if strings.Contains(string(cfg.Marshal()), "Bearer x") {
		t.Fatal("an MCP server's headers are not redacted")
	}
	_, err = Parse([]byte(base+`
mcp_servers:
  bad__name: {url: "ftp://x"}
  orders: {url: "http://127.0.0.1:1/mcp", headers: {"a b": x}}
tool_loops:
  nosuch: {apis: [orders]}
  echo: {mcp_servers: [ghost], apis: [missing, hidden, orders], max_call_depth: -1}
  helper: {}
`), env(nil))
	for _, want := range []string{
		"mcp_servers.bad__name: a server name is",
		`mcp_servers.bad__name.url: must be an http(s) URL, got "ftp://x"`,
		`mcp_servers.orders.headers: invalid header name "a b"`,
		`tool_loops.nosuch: unknown model "nosuch"`,
		`tool_loops.echo.mcp_servers[0]: unknown MCP server "ghost"`,
		`tool_loops.echo.apis[0]: unknown API "missing"`,
		`tool_loops.echo.apis[1]: API "hidden" has mcp.enabled: false`,
		`tool_loops.echo.apis[2]: "orders" names both an API and an MCP server`,
		"tool_loops.echo.max_call_depth: must not be negative",
		"tool_loops.helper: attach at least one of mcp_servers or apis",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}
