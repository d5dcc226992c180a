package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/tidegate/tidegate/internal/openapi"
	"github.com/tidegate/tidegate/internal/toolloop"
)

// Source offers the API's MCP tools to a model's tool loop, called in
// process: the same admission (Guard, policies, limits), validation,
// upstream call and usage log as a tools/call over HTTP, without the
// JSON-RPC. forwardAuth passes the LLM caller's Authorization (and
// x-api-key) to the Guard: for auth: keys and jwt APIs, whose Guard checks
// it (a keys API never sends it upstream; a jwt API forwards the token as
// it does for its own callers). A passthrough API gets none of the
// caller's credentials: its upstream credential belongs in headers:.
func (s *Server) Source(name string, forwardAuth bool) toolloop.Source {
	tools := map[string]*openapi.Tool{}
	var list []toolloop.SourceTool
	for _, t := range s.opt.API.Tools {
		tools[t.Name] = t
		list = append(list, toolloop.SourceTool{Name: t.Name, Description: t.Description, InputSchema: t.InputSchema})
	}
	return &source{s: s, name: name, forwardAuth: forwardAuth, tools: tools, list: list}
}

type source struct {
	s           *Server
	name        string
	forwardAuth bool
	tools       map[string]*openapi.Tool
	list        []toolloop.SourceTool
}

func (src *source) Name() string { return src.name }

func (src *source) Tools(context.Context) ([]toolloop.SourceTool, error) { return src.list, nil }

func (src *source) Call(ctx context.Context, name string, args json.RawMessage, h http.Header) (toolloop.Result, error) {
	t := src.tools[name]
	if t == nil {
		return toolloop.Result{IsError: true, Text: fmt.Sprintf("unknown tool %q", name)}, nil
	}
	fwd := http.Header{}
	if src.forwardAuth {
		for _, k := range []string{"Authorization", "X-Api-Key", "Api-Key"} {
			if v := h.Values(k); len(v) > 0 {
				fwd[k] = v
			}
		}
	}
	reqID, _ := ctx.Value(requestIDKey{}).(string)
	res := src.s.call(ctx, t, args, fwd, reqID)
	return toolloop.Result{Text: res.text, IsError: res.isError}, nil
}
