// Package toolloop runs MCP tools on a model's behalf: the tools of
// attached sources (external MCP servers, the gateway's own apis:) are
// offered to the model, and while the model answers with calls to them,
// the gateway runs the calls, appends their results to the conversation
// and asks again, up to a depth. The caller sees only the final answer.
package toolloop

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tidegate/tidegate/internal/llm"
)

// Separator joins a source's name and a tool's name into the name the
// model sees ("weather__forecast"), so that tools of different sources
// never collide and a call finds its source.
const Separator = "__"

// Defaults.
const (
	DefaultMaxCallDepth   = 5
	DefaultMaxResultBytes = 64 << 10
)

// SourceTool is a tool as its source lists it.
type SourceTool struct {
	Name        string
	Description string
	InputSchema json.RawMessage
}

// Result is what a tool call returned, as text for the model.
type Result struct {
	Text    string
	IsError bool
}

// Source is a set of tools: an MCP server (Remote) or an API of the
// gateway (see internal/mcp). Implementations are safe for concurrent use.
type Source interface {
	// Name prefixes the source's tools.
	Name() string
	// Tools lists the tools the model may call (already filtered).
	Tools(ctx context.Context) ([]SourceTool, error)
	// Call runs one tool. h is the caller's request header (for the
	// sources that authenticate the caller). An error is a failure to run
	// the call at all; a tool that ran and failed is a Result.IsError.
	Call(ctx context.Context, name string, args json.RawMessage, h http.Header) (Result, error)
}

// Admit lets the gateway govern each tool call like a request: it is
// asked before the call with the call's usage-log model
// ("mcp:<source>/<tool>") and returns how to record its end. A refusal
// becomes an error result for the model.
type Admit func(ctx context.Context, model string) (done func(status int, err error), err error)

// Options configure a Loop.
type Options struct {
	Sources []Source
	// MaxCallDepth bounds the rounds of tool calls; the request after the
	// last round forbids tools so that the model must answer.
	MaxCallDepth int
	// MaxResultBytes caps one tool result given to the model.
	MaxResultBytes int
	Logger         *slog.Logger
}

// Loop is the tool loop of one public model.
type Loop struct {
	opt Options
}

// New builds a loop over the sources.
func New(opt Options) *Loop {
	if opt.MaxCallDepth <= 0 {
		opt.MaxCallDepth = DefaultMaxCallDepth
	}
	if opt.MaxResultBytes <= 0 {
		opt.MaxResultBytes = DefaultMaxResultBytes
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Loop{opt: opt}
}

// Chat sends one (non-stream) round to the model.
type Chat func(ctx context.Context, req *llm.Request) (*llm.Response, error)

// Run completes req: it adds the sources' tools, and while the model
// calls them runs the calls and asks again. req must be decoded; it is
// modified (tools, messages, stream off). The answer's usage is the sum
// of every round's. The answer carries only the caller's own tool calls,
// if the model made any (with them the conversation goes back to the
// caller, and the gateway's calls of that round are dropped).
func (l *Loop) Run(ctx context.Context, req *llm.Request, h http.Header, chat Chat, admit Admit) (*llm.Response, error) {
	offered, tools, err := l.tools(ctx, req)
	if err != nil {
		return nil, err
	}
	for _, t := range offered {
		req.Tools = append(req.Tools, llm.Tool{Name: t.name, Description: t.description, Parameters: t.schema})
	}
	// Each round is sent whole: streams are not relayed from inner rounds.
	req.Stream, req.IncludeUsage = false, false
	// The request is edited: providers must encode it, not forward the
	// caller's bytes.
	req.Source = llm.Source{Header: req.Source.Header}
	var total llm.Usage
	for depth := 0; ; depth++ {
		if depth == l.opt.MaxCallDepth {
			req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceNone}
		}
		resp, err := chat(ctx, req)
		if err != nil {
			return nil, err
		}
		add(&total, resp.Usage)
		calls, others := split(resp.Content, tools)
		if len(calls) == 0 || others || depth == l.opt.MaxCallDepth {
			resp.Content = slices.DeleteFunc(resp.Content, func(p llm.Part) bool { return isCall(p, tools) })
			if len(calls) > 0 && !others {
				resp.StopReason = llm.StopEndTurn // the gateway's calls were the only ones, and they are gone
			}
			resp.Usage = total
			return resp, nil
		}
		results := make([]llm.Part, 0, len(calls))
		for _, c := range calls {
			res := l.call(ctx, tools[c.Name], c, h, admit)
			results = append(results, llm.Part{Type: llm.PartToolResult, ToolResult: &llm.ToolResult{
				CallID: c.ID, IsError: res.IsError, Content: []llm.Part{llm.TextPart(res.Text)},
			}})
		}
		req.Messages = append(req.Messages,
			llm.Message{Role: llm.RoleAssistant, Content: resp.Content},
			llm.Message{Role: llm.RoleTool, Content: results})
	}
}

// tool is one offered tool and where it comes from.
type tool struct {
	name, description string
	schema            json.RawMessage
	source            Source
	remote            string
}

// tools lists every source's tools in order and by the name the model
// sees. A source that cannot list its tools fails the request: the model
// would otherwise answer without tools it is configured to have.
func (l *Loop) tools(ctx context.Context, req *llm.Request) ([]*tool, map[string]*tool, error) {
	var list []*tool
	out := map[string]*tool{}
	for _, s := range l.opt.Sources {
		tools, err := s.Tools(ctx)
		if err != nil {
			return nil, nil, &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway,
				Message: fmt.Sprintf("the tools of %s cannot be listed: %v", s.Name(), err), Err: err}
		}
		for _, t := range tools {
			name := s.Name() + Separator + t.Name
			tl := &tool{name: name, description: t.Description, schema: t.InputSchema, source: s, remote: t.Name}
			list, out[name] = append(list, tl), tl
		}
	}
	for _, t := range req.Tools {
		if out[t.Name] != nil {
			return nil, nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "tools",
				Message: fmt.Sprintf("tool name %q is taken by a tool the gateway offers this model; rename yours", t.Name)}
		}
	}
	return list, out, nil
}

// split picks the calls of gateway tools; others reports calls of the
// caller's own tools.
func split(content []llm.Part, tools map[string]*tool) (calls []*llm.ToolCall, others bool) {
	for _, p := range content {
		if p.Type != llm.PartToolCall || p.ToolCall == nil {
			continue
		}
		if tools[p.ToolCall.Name] != nil {
			calls = append(calls, p.ToolCall)
		} else {
			others = true
		}
	}
	return calls, others
}

func isCall(p llm.Part, tools map[string]*tool) bool {
	return p.Type == llm.PartToolCall && p.ToolCall != nil && tools[p.ToolCall.Name] != nil
}

// call runs one tool call; every failure is a result the model can read.
func (l *Loop) call(ctx context.Context, t *tool, c *llm.ToolCall, h http.Header, admit Admit) Result {
	start := time.Now()
	model := "mcp:" + t.source.Name() + "/" + t.remote
	done := func(int, error) {}
	if admit != nil {
		d, err := admit(ctx, model)
		if err != nil {
			l.opt.Logger.Info("tool call refused", "tool", t.name, "error", err)
			return Result{IsError: true, Text: "the gateway refused this tool call: " + llm.AsError(err).Message}
		}
		done = d
	}
	args := json.RawMessage(c.Arguments)
	if strings.TrimSpace(c.Arguments) == "" {
		args = json.RawMessage("{}")
	}
	var res Result
	var err error
	if !json.Valid(args) {
		res = Result{IsError: true, Text: "the arguments are not valid JSON: " + abbreviate(c.Arguments, 200)}
	} else {
		res, err = t.source.Call(ctx, t.remote, args, h)
	}
	status := http.StatusOK
	switch {
	case err != nil:
		status = http.StatusBadGateway
		res = Result{IsError: true, Text: fmt.Sprintf("the tool could not be called: %v", err)}
	case res.IsError:
		status = http.StatusUnprocessableEntity
	}
	done(status, err)
	l.opt.Logger.Info("tool call", "tool", t.name, "error_result", res.IsError, "duration", time.Since(start), "error", err)
	if len(res.Text) > l.opt.MaxResultBytes {
		res.Text = strings.ToValidUTF8(res.Text[:l.opt.MaxResultBytes], "") + fmt.Sprintf("\n[truncated: the result exceeds %d bytes]", l.opt.MaxResultBytes)
	}
	return res
}

func abbreviate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func add(u *llm.Usage, o llm.Usage) {
	u.InputTokens += o.InputTokens
	u.OutputTokens += o.OutputTokens
	u.CacheReadTokens += o.CacheReadTokens
	u.CacheWriteTokens += o.CacheWriteTokens
	u.ReasoningTokens += o.ReasoningTokens
}

// Events renders a whole answer as stream events (each block's text in
// one delta), for a streaming caller of a tool loop.
func Events(resp *llm.Response) []llm.Event {
	evs := []llm.Event{{Type: llm.EventStart, ID: resp.ID, Model: resp.Model, Usage: &llm.Usage{InputTokens: resp.Usage.InputTokens}}}
	i := 0
	for _, p := range resp.Content {
		switch p.Type {
		case llm.PartText:
			evs = append(evs, llm.Event{Type: llm.EventBlockStart, Index: i, Part: &llm.Part{Type: llm.PartText}},
				llm.Event{Type: llm.EventDelta, Index: i, Text: p.Text})
		case llm.PartThinking:
			evs = append(evs, llm.Event{Type: llm.EventBlockStart, Index: i, Part: &llm.Part{Type: llm.PartThinking}},
				llm.Event{Type: llm.EventDelta, Index: i, Text: p.Text})
			if p.Signature != "" {
				evs = append(evs, llm.Event{Type: llm.EventDelta, Index: i, Signature: p.Signature})
			}
		case llm.PartToolCall:
			evs = append(evs, llm.Event{Type: llm.EventBlockStart, Index: i, Part: &llm.Part{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: p.ToolCall.ID, Name: p.ToolCall.Name}}},
				llm.Event{Type: llm.EventDelta, Index: i, Text: p.ToolCall.Arguments})
		default:
			continue
		}
		evs = append(evs, llm.Event{Type: llm.EventBlockStop, Index: i})
		i++
	}
	usage := resp.Usage
	return append(evs, llm.Event{Type: llm.EventFinish, StopReason: resp.StopReason, StopSequence: resp.StopSequence, Usage: &usage})
}
