package openai

import (
	"testing"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/llm"
)

// Reasoning models reject temperature and top_p even when no effort is
// sent, and Anthropic's "max" effort has no OpenAI spelling.
func TestReasoningModelsDropSampling(t *testing.T) {
	temp, topP := 0.3, 0.9
	req := &llm.Request{Model: "o3", Temperature: &temp, TopP: &topP,
		Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{llm.TextPart("hi")}}}}
	body, err := EncodeChatRequest(req, llm.ModelInfo{Reasoning: true})
	if err != nil {
		t.Fatal(err)
	}
	if gjson.GetBytes(body, "temperature").Exists() || gjson.GetBytes(body, "top_p").Exists() {
		t.Fatalf("sampling sent to a reasoning model: %s", body)
	}
	req.Reasoning = &llm.Reasoning{Enabled: true, Effort: "max"}
	body, _ = EncodeChatRequest(req, llm.ModelInfo{Reasoning: true})
	if got := gjson.GetBytes(body, "reasoning_effort").String(); got != "high" {
		t.Fatalf("effort %q", got)
	}
	body, _ = EncodeChatRequest(req, llm.ModelInfo{})
	if gjson.GetBytes(body, "reasoning_effort").Exists() || gjson.GetBytes(body, "temperature").Float() != 0.3 {
		t.Fatalf("non-reasoning model: %s", body)
	}
}
