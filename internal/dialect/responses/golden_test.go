package responses

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	oresponses "github.com/openai/openai-go/v3/responses"

	"github.com/tidegate/tidegate/internal/dialect/dialecttest"
	"github.com/tidegate/tidegate/internal/llm"
)

// golden compares got with testdata/name.golden (go test -update rewrites it).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	dialecttest.CheckGolden(t, filepath.Join("testdata", name+".golden"), got)
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodeCodexRequest: everything Codex sends, decoded canonically.
func TestDecodeCodexRequest(t *testing.T) {
	req, err := DecodeRequest(readTestdata(t, "codex_request.json"))
	if err != nil {
		t.Fatal(err)
	}
	req.Source = llm.Source{}
	raw, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	_ = json.Unmarshal(raw, &v)
	out, _ := json.MarshalIndent(prune(v), "", "  ")
	golden(t, "codex_request.canonical", append(out, '\n'))
}

// prune drops null, "", 0, false and empty containers, so canonical
// values render compactly.
func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e = prune(e); isZero(e) {
				delete(x, k)
			} else {
				x[k] = e
			}
		}
	case []any:
		for i, e := range x {
			x[i] = prune(e)
		}
	}
	return v
}

func isZero(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case float64:
		return x == 0
	case bool:
		return !x
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// fixed makes ids and times deterministic.
func fixed(m *meta) {
	m.id, m.created = "resp_test", 1700000000
	n := 0
	m.newID = func(prefix string) string { n++; return fmt.Sprintf("%s%d", prefix, n) }
}

func codexReq(t *testing.T) *llm.Request {
	req, err := DecodeRequest(readTestdata(t, "codex_request.json"))
	if err != nil {
		t.Fatal(err)
	}
	req.Model = "gpt-5-codex"
	return req
}

// streamEvents is an answer with every kind of block.
var streamEvents = []llm.Event{
	{Type: llm.EventStart, ID: "msg_up", Model: "claude-sonnet-4-5", Usage: &llm.Usage{InputTokens: 100}},
	{Type: llm.EventBlockStart, Index: 0, Part: &llm.Part{Type: llm.PartThinking}},
	{Type: llm.EventDelta, Index: 0, Text: "Let me "},
	{Type: llm.EventDelta, Index: 0, Text: "think."},
	{Type: llm.EventDelta, Index: 0, Signature: "sig-1"},
	{Type: llm.EventBlockStop, Index: 0},
	{Type: llm.EventBlockStart, Index: 1, Part: &llm.Part{Type: llm.PartText}},
	{Type: llm.EventDelta, Index: 1, Text: "Reading \"README\"."},
	{Type: llm.EventBlockStop, Index: 1},
	{Type: llm.EventBlockStart, Index: 2, Part: &llm.Part{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "call_a", Name: "mcp__fs__read"}}},
	{Type: llm.EventDelta, Index: 2, Text: `{"path":`},
	{Type: llm.EventDelta, Index: 2, Text: `"README.md"}`},
	{Type: llm.EventBlockStop, Index: 2},
	{Type: llm.EventBlockStart, Index: 3, Part: &llm.Part{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "call_b", Name: "apply_patch"}}},
	{Type: llm.EventDelta, Index: 3, Text: `{"input":"*** Begin Patch\n*** End Patch"}`},
	{Type: llm.EventBlockStop, Index: 3},
	{Type: llm.EventFinish, StopReason: llm.StopToolUse, Usage: &llm.Usage{InputTokens: 100, OutputTokens: 42, CacheReadTokens: 60, ReasoningTokens: 10}},
}

// checkSSE parses every frame with the official SDK's event type and
// checks event names, types and sequence numbers agree.
func checkSSE(t *testing.T, sse []byte) []oresponses.ResponseStreamEventUnion {
	t.Helper()
	var out []oresponses.ResponseStreamEventUnion
	for _, frame := range strings.Split(strings.TrimSuffix(string(sse), "\n\n"), "\n\n") {
		name, data, ok := strings.Cut(frame, "\ndata: ")
		if !ok || !strings.HasPrefix(name, "event: ") {
			t.Fatalf("bad frame %q", frame)
		}
		var ev oresponses.ResponseStreamEventUnion
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("frame %q: %v", frame, err)
		}
		if ev.Type != strings.TrimPrefix(name, "event: ") || ev.SequenceNumber != int64(len(out)) {
			t.Errorf("frame %d: event %q type %q sequence %d", len(out), name, ev.Type, ev.SequenceNumber)
		}
		out = append(out, ev)
	}
	return out
}

func TestStreamEncodeGolden(t *testing.T) {
	e := NewStreamEncoder(codexReq(t))
	fixed(&e.meta)
	var out []byte
	for _, ev := range streamEvents {
		out = e.Encode(out, ev)
	}
	out = e.Finish(out)
	golden(t, "stream_all_blocks.sse", out)
	evs := checkSSE(t, out)
	last := evs[len(evs)-1]
	if last.Type != "response.completed" || len(last.Response.Output) != 4 || last.Response.Usage.OutputTokens != 42 {
		t.Errorf("completed: %+v", last.Response)
	}
	if got := last.Response.Output[2]; got.Name != "read" || got.Namespace != "mcp__fs" || got.Arguments.OfString != `{"path":"README.md"}` {
		t.Errorf("namespace call %+v", got)
	}
	if got := last.Response.Output[3]; got.Type != "custom_tool_call" || got.Input != "*** Begin Patch\n*** End Patch" {
		t.Errorf("custom call %+v", got)
	}
	if !bytes.Equal(e.Completed(), []byte(last.Response.RawJSON())) {
		t.Error("Completed() is not the response.completed response")
	}
	// The output replays as input: the signature comes back, names flatten.
	replay, err := DecodeRequest([]byte(`{"model":"m","input":` + string(mustOutput(t, e.Completed())) + `}`))
	if err != nil {
		t.Fatal(err)
	}
	parts := replay.Messages[0].Content
	if len(parts) != 4 || parts[0].Signature != "sig-1" || parts[0].Text != "Let me think." ||
		parts[2].ToolCall.Name != "mcp__fs__read" || parts[3].ToolCall.Arguments != `{"input":"*** Begin Patch\n*** End Patch"}` {
		t.Errorf("replayed %+v", parts)
	}
}

func mustOutput(t *testing.T, resp []byte) json.RawMessage {
	var v struct{ Output json.RawMessage }
	if err := json.Unmarshal(resp, &v); err != nil {
		t.Fatal(err)
	}
	return v.Output
}

func TestStreamErrorGolden(t *testing.T) {
	e := NewStreamEncoder(&llm.Request{Model: "m", Source: llm.Source{Body: []byte(`{"model":"m","input":"hi"}`)}})
	fixed(&e.meta)
	out := e.Encode(nil, llm.Event{Type: llm.EventStart, Model: "m"})
	out = e.Encode(out, llm.Event{Type: llm.EventBlockStart, Part: &llm.Part{Type: llm.PartText}})
	out = e.Encode(out, llm.Event{Type: llm.EventDelta, Text: "Hel"})
	out = e.Error(out, &llm.Error{Kind: llm.KindUpstream, Message: "upstream stream ended before completion"})
	out = e.Finish(out) // nothing after a failure
	golden(t, "stream_error.sse", out)
	evs := checkSSE(t, out)
	if last := evs[len(evs)-1]; last.Type != "response.failed" || last.Response.Error.Message != "upstream stream ended before completion" {
		t.Errorf("last %+v", last)
	}
	if e.Completed() != nil {
		t.Error("a failed stream has a completed response")
	}
}

// A whole response (a non-stream upstream answer to a stream request)
// is rendered as the same event sequence.
func TestStreamWholeResponse(t *testing.T) {
	e := NewStreamEncoder(&llm.Request{Model: "m", Source: llm.Source{Body: []byte(`{"model":"m","input":"hi"}`)}})
	fixed(&e.meta)
	out := e.Encode(nil, llm.Event{Type: llm.EventResponse, Response: &llm.Response{Model: "echo",
		Content:    []llm.Part{llm.TextPart("Hi"), {Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "c1", Name: "f", Arguments: `{"a":1}`}}},
		StopReason: llm.StopMaxTokens, Usage: llm.Usage{InputTokens: 3, OutputTokens: 4}}})
	out = e.Finish(out)
	evs := checkSSE(t, out)
	var types []string
	for _, ev := range evs {
		types = append(types, ev.Type)
	}
	want := "response.created response.in_progress response.output_item.added response.content_part.added response.output_text.delta " +
		"response.output_text.done response.content_part.done response.output_item.done response.output_item.added " +
		"response.function_call_arguments.delta response.function_call_arguments.done response.output_item.done response.incomplete"
	if strings.Join(types, " ") != want {
		t.Errorf("events %v", types)
	}
	last := evs[len(evs)-1].Response
	if last.Status != "incomplete" || last.IncompleteDetails.Reason != "max_output_tokens" || last.Model != "echo" {
		t.Errorf("last %+v", last)
	}
}

func TestEncodeResponseGolden(t *testing.T) {
	m := newMeta(codexReq(t), testTime)
	fixed(&m)
	out := m.encode(&llm.Response{Model: "claude-sonnet-4-5", StopReason: llm.StopEndTurn,
		Content: []llm.Part{
			{Type: llm.PartRedactedThinking, Data: "opaque"},
			llm.TextPart("Hello "), llm.TextPart("world."),
			{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "call_1", Name: "shell", Arguments: `{"command":["ls"]}`}},
		},
		Usage: llm.Usage{InputTokens: 10, OutputTokens: 5}})
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, out, "", "  "); err != nil {
		t.Fatalf("invalid JSON %v: %s", err, out)
	}
	golden(t, "response_whole.json", append(pretty.Bytes(), '\n'))
	var r oresponses.Response
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	if r.OutputText() != "Hello world." || len(r.Output) != 3 || r.Output[0].EncryptedContent != "tg-redacted:opaque" {
		t.Errorf("decoded %+v", r)
	}
}
