package ollama

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/llm"
)

func asError(t *testing.T, err error) *llm.Error {
	t.Helper()
	var e *llm.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not *llm.Error", err, err)
	}
	return e
}

type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

func TestStreamCloseClosesBodyOnce(t *testing.T) {
	body := &closeCounter{Reader: strings.NewReader(`{"done":true}`)}
	s := NewStreamDecoder(body)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if body.closed != 1 {
		t.Fatalf("body closed %d times, want 1", body.closed)
	}
}

func TestStreamLongLines(t *testing.T) {
	long := strings.Repeat("x", 2<<20)
	in := `{"model":"m","message":{"content":"` + long + `"}}` + "\n" + `{"done":true,"done_reason":"stop"}` + "\n"
	s := NewStreamDecoder(io.NopCloser(strings.NewReader(in)))
	var text string
	for {
		ev, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == llm.EventDelta {
			text += ev.Text
		}
	}
	if text != long {
		t.Fatalf("got %d bytes of text, want %d", len(text), len(long))
	}

	huge := `{"message":{"content":"` + strings.Repeat("y", MaxLineSize) + `"}}` + "\n"
	s = NewStreamDecoder(io.NopCloser(strings.NewReader(huge)))
	_, err := s.Next()
	e := asError(t, err)
	if e.Kind != llm.KindUpstream || !strings.Contains(e.Message, "16 MiB") {
		t.Fatalf("got %v, want KindUpstream line too long", e)
	}
}

func TestStreamReadError(t *testing.T) {
	r := io.MultiReader(strings.NewReader(`{"model":"m","message":{"content":"hi"}}`+"\n"), errReader{})
	s := NewStreamDecoder(io.NopCloser(r))
	var err error
	for err == nil {
		_, err = s.Next()
	}
	e := asError(t, err)
	if e.Kind != llm.KindUpstream || !errors.Is(e, errBroken) {
		t.Fatalf("got %v, want KindUpstream wrapping the read error", e)
	}
}

var errBroken = errors.New("connection reset")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }

func TestToolCallIDs(t *testing.T) {
	body := `{"model":"m","message":{"role":"assistant","content":"","tool_calls":[
		{"function":{"name":"a","arguments":{}}},
		{"id":"up_1","function":{"name":"b","arguments":{"x":1}}},
		{"function":{"name":"c"}}]},"done":true}`
	r1, err := DecodeResponse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := DecodeResponse([]byte(body))
	re := regexp.MustCompile(`^call_[0-9]+_[0-9a-f]{8}$`)
	got := []string{}
	for _, p := range r1.Content {
		got = append(got, p.ToolCall.ID)
	}
	if !re.MatchString(got[0]) || got[1] != "up_1" || !re.MatchString(got[2]) || got[0] == got[2] {
		t.Fatalf("ids %q", got)
	}
	if !strings.HasPrefix(got[2], "call_2_") {
		t.Fatalf("third call id %q, want call_2_…", got[2])
	}
	if r1.Content[0].ToolCall.ID == r2.Content[0].ToolCall.ID || r1.ID == r2.ID {
		t.Fatal("ids repeat across responses")
	}
	if r1.Content[2].ToolCall.Arguments != "{}" {
		t.Fatalf("missing arguments decode to %q", r1.Content[2].ToolCall.Arguments)
	}
}

func TestDecodeError(t *testing.T) {
	tests := []struct {
		status  int
		body    string
		kind    llm.Kind
		code    int
		message string
	}{
		{404, `{"error":"model 'llama9' not found, try pulling it first"}`, llm.KindNotFound, 404, "model 'llama9' not found, try pulling it first"},
		{400, `{"error":"registry.ollama.ai/library/llama3:latest does not support tools"}`, llm.KindInvalidRequest, 400, "registry.ollama.ai/library/llama3:latest does not support tools"},
		{500, `{"error":"llama runner process has terminated"}`, llm.KindUpstream, 502, "llama runner process has terminated"},
		{503, `{"error":"server busy, please try again.  maximum pending requests exceeded"}`, llm.KindOverloaded, 503, "server busy, please try again.  maximum pending requests exceeded"},
		{502, `<html>bad gateway</html>`, llm.KindUpstream, 502, "<html>bad gateway</html>"},
		{500, ``, llm.KindUpstream, 502, "upstream returned 500 Internal Server Error"},
		{429, `{"error":{"message":"slow down"}}`, llm.KindRateLimit, 429, "slow down"},
	}
	for _, tt := range tests {
		e := DecodeError(tt.status, []byte(tt.body))
		if e.Kind != tt.kind || e.HTTPStatus() != tt.code || e.Message != tt.message {
			t.Errorf("DecodeError(%d, %s) = kind %s status %d %q; want %s %d %q",
				tt.status, tt.body, e.Kind, e.HTTPStatus(), e.Message, tt.kind, tt.code, tt.message)
		}
		if e.BodyDialect != llm.DialectOllama || string(e.Body) != tt.body {
			t.Errorf("DecodeError(%d): body not kept for relay", tt.status)
		}
	}
}

func TestDecodeTags(t *testing.T) {
	body := `{"models":[
		{"name":"llama3:latest","model":"llama3:latest","modified_at":"2025-05-04T17:37:44.706015396-07:00","size":4661224676,"digest":"365c0bd3c000","details":{"family":"llama"}},
		{"name":"","model":"nomic-embed-text:latest"},
		{"name":"qwen3:8b"}]}`
	got, err := DecodeTags([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "llama3:latest,nomic-embed-text:latest,qwen3:8b" {
		t.Fatalf("got %q", got)
	}
	if got, err := DecodeTags([]byte(`{"models":[]}`)); err != nil || len(got) != 0 {
		t.Fatalf("empty list: %q %v", got, err)
	}
	if _, err := DecodeTags([]byte(`<html>`)); asError(t, err).Kind != llm.KindUpstream {
		t.Fatal("invalid JSON should be KindUpstream")
	}
}

func TestEmbed(t *testing.T) {
	body, err := EncodeEmbedRequest(&llm.EmbedRequest{Model: "nomic-embed-text", Input: []string{"a <b>", "c"}, Dimensions: 256})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"model":"nomic-embed-text","input":["a <b>","c"],"dimensions":256}`; string(body) != want {
		t.Fatalf("got %s, want %s", body, want)
	}
	body, _ = EncodeEmbedRequest(&llm.EmbedRequest{Model: "m"})
	if want := `{"model":"m","input":[]}`; string(body) != want {
		t.Fatalf("got %s, want %s", body, want)
	}

	resp, err := DecodeEmbedResponse([]byte(`{"model":"all-minilm","embeddings":[[0.010071029,-0.0017594862],[0.5,1]],"total_duration":14143917,"load_duration":1019500,"prompt_eval_count":8}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Model != "all-minilm" || resp.InputTokens != 8 || len(resp.Embeddings) != 2 ||
		resp.Embeddings[0][0] != float32(0.010071029) || resp.Embeddings[1][1] != 1 {
		t.Fatalf("got %+v", resp)
	}
	if _, err := DecodeEmbedResponse([]byte(`{"embeddings":`)); asError(t, err).Kind != llm.KindUpstream {
		t.Fatal("invalid JSON should be KindUpstream")
	}
	if _, err := DecodeEmbedResponse([]byte(`{"error":"input length exceeds the context length"}`)); asError(t, err).Message != "input length exceeds the context length" {
		t.Fatal("inline error not surfaced")
	}
}

func TestEncodeDoesNotEscapeHTML(t *testing.T) {
	req := &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{llm.TextPart("<a> & b")}}}}
	body, err := EncodeChatRequest(req, llm.ModelInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(body, []byte(`"<a> & b"`)) || !bytes.Contains(body, []byte(`"stream":false`)) {
		t.Fatalf("got %s", body)
	}
}

func TestEncodeLazyRequest(t *testing.T) {
	req := llm.NewLazyRequest(llm.OpChat, "qwen3", true, false, llm.Source{}, func(r *llm.Request) error {
		r.Messages = []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{llm.TextPart("hi")}}}
		return nil
	})
	body, err := EncodeChatRequest(req, llm.ModelInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"model":"qwen3","messages":[{"role":"user","content":"hi"}],"stream":true}`; string(body) != want {
		t.Fatalf("got %s, want %s", body, want)
	}
}
