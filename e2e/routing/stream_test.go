package routing_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// streamConfig: "smart" streams from OpenAI, else Anthropic.
const streamConfig = providers + `
models:
  smart: {targets: [{provider: oai, model: gpt-4o-mini}, {provider: ant, model: claude-sonnet-4-5}]}
`

// cleanStream checks one whole, cleanly ended stream and returns its text.
func cleanStream(t *testing.T, dialect string, frames []frame) string {
	t.Helper()
	if len(frames) == 0 {
		t.Fatal("no frames")
	}
	var text strings.Builder
	starts := 0
	for _, f := range frames {
		if strings.Contains(f.Data, `"error"`) {
			t.Errorf("error frame in a stream that fell back: %s", f.Data)
		}
		if f.Event == "message_start" || strings.Contains(f.Data, `"role":"assistant"`) {
			starts++
		}
		for _, key := range []string{`"content":"`, `"text":"`} {
			if i := strings.Index(f.Data, key); i >= 0 {
				rest := f.Data[i+len(key):]
				text.WriteString(rest[:strings.IndexByte(rest, '"')])
			}
		}
	}
	if starts != 1 {
		t.Errorf("%d message starts; the caller must see exactly one message", starts)
	}
	last := frames[len(frames)-1]
	if dialect == "openai" && last.Data != "[DONE]" || dialect == "anthropic" && last.Event != "message_stop" {
		t.Errorf("stream does not end cleanly: %+v", last)
	}
	return text.String()
}

// TestStreamFailingBeforeFirstByteFallsBack: a stream that dies before its
// first event is retried on the next target, and the caller sees one clean
// stream from it.
func TestStreamFailingBeforeFirstByteFallsBack(t *testing.T) {
	g := testgateway.Start(t, streamConfig)
	g.OpenAI.Set(testupstream.Reply{Text: "never seen", CutAtStart: true})
	g.Anthropic.Set(testupstream.Reply{Text: "the fallback speaks"})
	for _, dialect := range []string{"openai", "anthropic"} {
		r, frames := streamChat(t, g, dialect, "smart")
		if r.Status != 200 || r.Header.Get("x-tidegate-provider") != "ant" || r.Header.Get("x-tidegate-attempts") != "2" {
			t.Fatalf("%s: %s provider %q attempts %q", dialect, r, r.Header.Get("x-tidegate-provider"), r.Header.Get("x-tidegate-attempts"))
		}
		if text := cleanStream(t, dialect, frames); text != "the fallback speaks" {
			t.Errorf("%s: text %q", dialect, text)
		}
	}
}

// TestStreamCutAfterFirstByte: once bytes reached the caller there is no
// fallback: the stream ends with an explicit error event, and the failure
// counts against the target's breaker.
func TestStreamCutAfterFirstByte(t *testing.T) {
	g := testgateway.Start(t, streamConfig)
	g.OpenAI.Set(testupstream.Reply{Text: "one two three four five six", CutAfter: 3})
	r, frames := streamChat(t, g, "openai", "smart")
	if r.Status != 200 || r.Header.Get("x-tidegate-provider") != "oai" {
		t.Fatalf("%s from %q", r, r.Header.Get("x-tidegate-provider"))
	}
	if len(frames) < 2 || !strings.Contains(frames[len(frames)-1].Data, `"error"`) {
		t.Fatalf("want content then an error event, got %+v", frames)
	}
	for _, f := range frames {
		if f.Data == "[DONE]" {
			t.Error("a cut stream ended like a clean one")
		}
	}
	if g.Anthropic.Posts() != 0 {
		t.Error("a stream cut after its first byte must not fall back")
	}
	if !waitFor(2*time.Second, func() bool {
		_, h := health(t, g, "/health?deep=1")
		_, failures, _ := h.target("oai/gpt-4o-mini")
		return failures == 1
	}) {
		_, h := health(t, g, "/health?deep=1")
		t.Errorf("the cut was not counted against the breaker: %+v", h.Targets)
	}
	// A clean stream afterwards resets the count.
	g.OpenAI.Set(testupstream.Reply{Text: "fine now"})
	if r, frames := streamChat(t, g, "openai", "smart"); r.Status != 200 || cleanStream(t, "openai", frames) != "fine now" {
		t.Fatalf("clean stream: %s", r)
	}
	if _, h := health(t, g, "/health?deep=1"); h.Status != "healthy" {
		t.Errorf("after a clean stream: %+v", h.Targets)
	}
}

// TestTimeoutSpansTheStream: the model's timeout covers the stream after
// its first byte too; a slow stream ends with an error event.
func TestTimeoutSpansTheStream(t *testing.T) {
	g := testgateway.Start(t, providers+`
models:
  smart: {provider: oai, model: gpt-4o-mini, timeout: 400ms}
`)
	g.OpenAI.Set(testupstream.Reply{Text: "a b c d e f g h i j k l m n o p", EventDelay: 100 * time.Millisecond})
	start := time.Now()
	r, frames := streamChat(t, g, "openai", "smart")
	if el := time.Since(start); el > 1500*time.Millisecond {
		t.Errorf("stream lasted %s; the timeout is 400ms", el)
	}
	if r.Status != 200 || len(frames) < 2 || !strings.Contains(frames[len(frames)-1].Data, `"error"`) {
		t.Errorf("want a stream that ends with an error event, got %s %+v", r, frames)
	}
}
