package toolloop_test

import (
	"context"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"

	"github.com/tidegate/tidegate/internal/testupstream"
)

// A Responses API client (as Codex or the Agents SDK) on a tool-loop
// model: the gateway runs the MCP tool and streams the final answer as
// the Responses event sequence.
func TestResponsesClientToolLoop(t *testing.T) {
	g, w := start(t, "")
	g.OpenAI.Script(
		testupstream.Reply{ToolCalls: []testupstream.ToolCall{{ID: "call_w", Name: "weather__forecast", Args: `{"city":"Paris"}`}}},
		testupstream.Reply{Text: "Sunny in Paris."},
	)
	c := oai(g)
	s := c.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{
		Model: "gpt", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Weather in Paris?")},
	})
	var last responses.ResponseStreamEventUnion
	n := 0
	for s.Next() {
		last = s.Current()
		if last.SequenceNumber != int64(n) {
			t.Fatalf("event %d has sequence_number %d", n, last.SequenceNumber)
		}
		n++
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if last.Type != "response.completed" || last.Response.OutputText() != "Sunny in Paris." {
		t.Fatalf("last event %s: %q", last.Type, last.Response.OutputText())
	}
	if calls, _ := w.seen(); len(calls) != 1 || calls[0] != "forecast:Paris" {
		t.Fatalf("MCP server calls: %v", calls)
	}
	if results := toolResults(g.OpenAI.Requests()[1].Body); results["call_w"] != "Sunny in Paris, 21°C" {
		t.Fatalf("tool results sent to the model: %v", results)
	}
}
