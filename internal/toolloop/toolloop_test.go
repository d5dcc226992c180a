package toolloop

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/llm"
)

// fakeSource is a Source whose tools echo their arguments.
type fakeSource struct {
	name    string
	listErr error
	calls   []string
}

func (f *fakeSource) Name() string { return f.name }

func (f *fakeSource) Tools(context.Context) ([]SourceTool, error) {
	if f.listErr != nil {
		return nil, f.listErr
	}
	return []SourceTool{{Name: "echo", Description: "echoes", InputSchema: json.RawMessage(`{"type":"object"}`)},
		{Name: "big", InputSchema: json.RawMessage(`{"type":"object"}`)}}, nil
}

func (f *fakeSource) Call(_ context.Context, name string, args json.RawMessage, _ http.Header) (Result, error) {
	f.calls = append(f.calls, name+string(args))
	switch name {
	case "big":
		return Result{Text: strings.Repeat("x", 100)}, nil
	case "broken":
		return Result{}, errors.New("connection refused")
	}
	return Result{Text: "echo " + string(args)}, nil
}

func call(id, name, args string) llm.Part {
	return llm.Part{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: id, Name: name, Arguments: args}}
}

// script is a Chat that answers in turn and records what it was asked.
type script struct {
	answers []*llm.Response
	asked   []llm.Request
}

func (s *script) chat(_ context.Context, req *llm.Request) (*llm.Response, error) {
	q := *req
	q.Messages = append([]llm.Message(nil), req.Messages...)
	s.asked = append(s.asked, q)
	a := s.answers[0]
	s.answers = s.answers[1:]
	return a, nil
}

func TestRun(t *testing.T) {
	src := &fakeSource{name: "s"}
	l := New(Options{Sources: []Source{src}, MaxCallDepth: 2, MaxResultBytes: 20})
	sc := &script{answers: []*llm.Response{
		{Content: []llm.Part{llm.TextPart("let me see"), call("1", "s__echo", `{"a":1}`), call("2", "s__big", ``), call("3", "s__echo", `{bad`)}, StopReason: llm.StopToolUse, Usage: llm.Usage{InputTokens: 10, OutputTokens: 5}},
		{Content: []llm.Part{llm.TextPart("done")}, StopReason: llm.StopEndTurn, Usage: llm.Usage{InputTokens: 20, OutputTokens: 2}},
	}}
	req := &llm.Request{Stream: true, Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{llm.TextPart("hi")}}},
		Source: llm.Source{Dialect: llm.DialectOpenAI, Body: []byte(`{}`)}}
	resp, err := l.Run(context.Background(), req, nil, sc.chat, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text() != "done" || resp.Usage.InputTokens != 30 || resp.Usage.OutputTokens != 7 {
		t.Fatalf("%+v", resp)
	}
	if req.Stream || req.Source.Body != nil || len(req.Tools) != 2 || req.Tools[0].Name != "s__echo" {
		t.Fatalf("request not prepared: stream %v, body %q, tools %+v", req.Stream, req.Source.Body, req.Tools)
	}
	if strings.Join(src.calls, "|") != `echo{"a":1}|big{}` {
		t.Fatalf("calls: %v", src.calls)
	}
	second := sc.asked[1].Messages
	results := second[len(second)-1]
	if results.Role != llm.RoleTool || len(results.Content) != 3 {
		t.Fatalf("results: %+v", results)
	}
	texts := map[string]*llm.ToolResult{}
	for _, p := range results.Content {
		texts[p.ToolResult.CallID] = p.ToolResult
	}
	if texts["1"].Content[0].Text != `echo {"a":1}` || texts["2"].Content[0].Text != strings.Repeat("x", 20)+"\n[truncated: the result exceeds 20 bytes]" ||
		!texts["3"].IsError || !strings.HasPrefix(texts["3"].Content[0].Text, "the arguments are no") {
		t.Fatalf("results: %+v %+v %+v", texts["1"], texts["2"], texts["3"])
	}
}

func TestRunLimitsAndFailures(t *testing.T) {
	// Depth 1: the second request forbids tools; calls in its answer are
	// dropped and the answer ends the turn.
	l := New(Options{Sources: []Source{&fakeSource{name: "s"}}, MaxCallDepth: 1})
	sc := &script{answers: []*llm.Response{
		{Content: []llm.Part{call("1", "s__echo", `{}`)}, StopReason: llm.StopToolUse},
		{Content: []llm.Part{llm.TextPart("ok"), call("2", "s__echo", `{}`)}, StopReason: llm.StopToolUse},
	}}
	resp, err := l.Run(context.Background(), &llm.Request{}, nil, sc.chat, nil)
	if err != nil || resp.Text() != "ok" || len(resp.Content) != 1 || resp.StopReason != llm.StopEndTurn {
		t.Fatalf("%+v %v", resp, err)
	}
	if sc.asked[0].ToolChoice != nil || sc.asked[1].ToolChoice == nil || sc.asked[1].ToolChoice.Mode != llm.ToolChoiceNone {
		t.Fatal("tool_choice none only on the last round")
	}

	// A source that cannot list its tools fails the request with a 502.
	l = New(Options{Sources: []Source{&fakeSource{name: "s", listErr: errors.New("boom")}}})
	_, err = l.Run(context.Background(), &llm.Request{}, nil, sc.chat, nil)
	if e := llm.AsError(err); e.HTTPStatus() != 502 || !strings.Contains(e.Message, "the tools of s cannot be listed: boom") {
		t.Fatalf("%v", err)
	}

	// A refused call is an error result for the model; nothing is run.
	src := &fakeSource{name: "s"}
	l = New(Options{Sources: []Source{src}})
	sc = &script{answers: []*llm.Response{
		{Content: []llm.Part{call("1", "s__echo", `{}`)}, StopReason: llm.StopToolUse},
		{Content: []llm.Part{llm.TextPart("sorry")}},
	}}
	var admitted []string
	admit := func(_ context.Context, model string) (func(int, error), error) {
		admitted = append(admitted, model)
		return nil, &llm.Error{Kind: llm.KindPermission, Message: "no " + model}
	}
	if _, err := l.Run(context.Background(), &llm.Request{}, nil, sc.chat, admit); err != nil {
		t.Fatal(err)
	}
	last := sc.asked[1].Messages[1].Content[0].ToolResult
	if len(src.calls) != 0 || !last.IsError || !strings.Contains(last.Content[0].Text, "refused this tool call: no mcp:s/echo") || admitted[0] != "mcp:s/echo" {
		t.Fatalf("refusal: calls %v, result %+v", src.calls, last)
	}
}

func TestEvents(t *testing.T) {
	evs := Events(&llm.Response{ID: "r", Model: "m", Content: []llm.Part{
		llm.TextPart("hi"), {Type: llm.PartImage}, call("1", "f", `{"x":1}`),
	}, StopReason: llm.StopToolUse, Usage: llm.Usage{InputTokens: 3, OutputTokens: 4}})
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, map[llm.EventType]string{llm.EventStart: "start", llm.EventBlockStart: "bs", llm.EventDelta: "d", llm.EventBlockStop: "be", llm.EventFinish: "fin"}[e.Type])
	}
	if strings.Join(kinds, ",") != "start,bs,d,be,bs,d,be,fin" || evs[4].Index != 1 || evs[len(evs)-1].Usage.OutputTokens != 4 {
		t.Fatalf("%v %+v", kinds, evs)
	}
}
