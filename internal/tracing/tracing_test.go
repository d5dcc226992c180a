package tracing

import (
	"context"
	"testing"

	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/llm"
)

// Off is nothing at all: no provider, a nil tracer, a no-op shutdown.
func TestOffIsNil(t *testing.T) {
	tr, err := New(context.Background(), config.Tracing{}, "v", func(string) string { return "" })
	if err != nil || tr != nil {
		t.Fatalf("tracing off: %v, %v", tr, err)
	}
	if tr.Tracer() != nil || tr.Shutdown(context.Background()) != nil {
		t.Fatal("a nil Tracing must have no tracer and shut down cleanly")
	}
}

func TestNames(t *testing.T) {
	for op, want := range map[llm.Operation]string{llm.OpChat: "chat", llm.OpCompletion: "text_completion"} {
		if got := Operation(op); got != want {
			t.Errorf("Operation(%v) = %q, want %q", op, got, want)
		}
	}
	for d, want := range map[llm.Dialect]string{llm.DialectOpenAI: "openai", llm.DialectAnthropic: "anthropic", "": "tidegate", llm.DialectOllama: "ollama"} {
		if got := System(d); got != want {
			t.Errorf("System(%q) = %q, want %q", d, got, want)
		}
	}
}
