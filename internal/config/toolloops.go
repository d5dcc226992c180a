package config

import (
	"fmt"
	"net/url"
	"strings"
)

// MCPServer is an external MCP server (Streamable HTTP) whose tools
// tool_loops offer to models.
type MCPServer struct {
	URL string `yaml:"url"`
	// Headers are sent with every request (its credential, say).
	Headers map[string]string `yaml:"headers"`
	// AllowedTools are offered to the model; empty: every tool it lists.
	AllowedTools []string `yaml:"allowed_tools"`
	// Timeout bounds one call (default 30s).
	Timeout Duration `yaml:"timeout"`
}

// ToolLoop attaches tools to a public model: when the model calls them,
// the gateway runs the calls and continues the conversation.
type ToolLoop struct {
	// MCPServers are mcp_servers: entries.
	MCPServers []string `yaml:"mcp_servers"`
	// APIs are apis: entries (with MCP enabled) whose tools are offered.
	APIs []string `yaml:"apis"`
	// MaxCallDepth bounds the rounds of tool calls (default 5).
	MaxCallDepth int `yaml:"max_call_depth"`
}

// validateToolLoops checks mcp_servers: and tool_loops:.
func (c *Config) validateToolLoops(add func(path, format string, args ...any)) {
	for _, name := range sortedKeys(c.MCPServers) {
		s := c.MCPServers[name]
		path := "mcp_servers." + name
		if !apiName.MatchString(name) || strings.Contains(name, "__") {
			add(path, "a server name is letters, digits, _, . and - (no __: it prefixes the tools' names)")
		}
		if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(path+".url", "must be an http(s) URL, got %q", s.URL)
		}
		for h, v := range s.Headers {
			if strings.ContainsAny(h, "\r\n: ") || h == "" {
				add(path+".headers", "invalid header name %q", h)
			}
			if strings.ContainsAny(v, "\r\n") {
				add(path+".headers."+h, "header value must not contain line breaks")
			}
		}
		if s.Timeout < 0 {
			add(path+".timeout", "must not be negative")
		}
	}
	for _, model := range sortedKeys(c.ToolLoops) {
		l := c.ToolLoops[model]
		path := "tool_loops." + model
		if _, ok := c.Models[model]; !ok {
			if _, ok := c.Aliases[model]; !ok {
				add(path, "unknown model %q (a models: or aliases: name)", model)
			}
		}
		if len(l.MCPServers)+len(l.APIs) == 0 {
			add(path, "attach at least one of mcp_servers or apis")
		}
		for i, s := range l.MCPServers {
			if _, ok := c.MCPServers[s]; !ok {
				add(fmt.Sprintf("%s.mcp_servers[%d]", path, i), "unknown MCP server %q (define it under mcp_servers:)", s)
			}
		}
		for i, a := range l.APIs {
			api, ok := c.APIs[a]
			switch {
			case !ok:
				add(fmt.Sprintf("%s.apis[%d]", path, i), "unknown API %q (define it under apis:)", a)
			case !api.MCP.On():
				add(fmt.Sprintf("%s.apis[%d]", path, i), "API %q has mcp.enabled: false", a)
			case strings.Contains(a, "__"):
				add(fmt.Sprintf("%s.apis[%d]", path, i), "an API offered as tools cannot have __ in its name")
			}
			if _, ok := c.MCPServers[a]; ok {
				add(fmt.Sprintf("%s.apis[%d]", path, i), "%q names both an API and an MCP server: the tools' prefixes would collide", a)
			}
		}
		if l.MaxCallDepth < 0 {
			add(path+".max_call_depth", "must not be negative")
		}
	}
}
