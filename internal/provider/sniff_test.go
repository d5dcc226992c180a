package provider

import (
	"testing"

	"github.com/tidegate/tidegate/internal/llm"
)

func TestSniffOpenAI(t *testing.T) {
	body := []byte(`{"id":"c1","object":"chat.completion","model":"gpt-x","choices":[{"index":0,"message":{"role":"assistant","content":"hi","usage":{"prompt_tokens":999}},"finish_reason":"length"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":2}}}`)
	r := sniffOpenAI(body, llm.OpChat)
	want := llm.Usage{InputTokens: 10, OutputTokens: 5, CacheReadTokens: 4, ReasoningTokens: 2}
	if r.ID != "c1" || r.Model != "gpt-x" || r.StopReason != llm.StopMaxTokens || r.Usage != want {
		t.Fatalf("%+v", r)
	}
}

func TestSniffAnthropic(t *testing.T) {
	body := []byte(`{"id":"msg_1","type":"message","model":"claude-x","content":[{"type":"text","text":"{\"usage\":1}"}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":7,"cache_read_input_tokens":100,"cache_creation_input_tokens":20}}`)
	r := sniffAnthropic(body)
	want := llm.Usage{InputTokens: 123, OutputTokens: 7, CacheReadTokens: 100, CacheWriteTokens: 20}
	if r.ID != "msg_1" || r.Model != "claude-x" || r.StopReason != llm.StopToolUse || r.Usage != want {
		t.Fatalf("%+v", r)
	}
}
