package llm

// StopReason is why generation ended, in canonical (Anthropic-like) terms.
type StopReason string

const (
	StopEndTurn       StopReason = "end_turn"      // OpenAI "stop"
	StopMaxTokens     StopReason = "max_tokens"    // OpenAI "length"
	StopToolUse       StopReason = "tool_use"      // OpenAI "tool_calls"
	StopSequence      StopReason = "stop_sequence" // OpenAI "stop"
	StopContentFilter StopReason = "refusal"       // OpenAI "content_filter"
	StopPauseTurn     StopReason = "pause_turn"
)

// Usage counts tokens. InputTokens is the whole prompt, cached parts
// included (OpenAI's prompt_tokens); Anthropic's input_tokens excludes
// cache reads and writes, so its converters add and subtract them.
type Usage struct {
	InputTokens      int
	OutputTokens     int
	CacheReadTokens  int
	CacheWriteTokens int
	ReasoningTokens  int // part of OutputTokens
}

// Total is input plus output tokens.
func (u Usage) Total() int { return u.InputTokens + u.OutputTokens }

// Merge takes every non-zero field of o, for streams that report usage in
// several events (Anthropic message_start then message_delta).
func (u *Usage) Merge(o Usage) {
	if o.InputTokens != 0 {
		u.InputTokens = o.InputTokens
	}
	if o.OutputTokens != 0 {
		u.OutputTokens = o.OutputTokens
	}
	if o.CacheReadTokens != 0 {
		u.CacheReadTokens = o.CacheReadTokens
	}
	if o.CacheWriteTokens != 0 {
		u.CacheWriteTokens = o.CacheWriteTokens
	}
	if o.ReasoningTokens != 0 {
		u.ReasoningTokens = o.ReasoningTokens
	}
}

// Response is a complete (non-stream) answer.
type Response struct {
	ID      string
	Model   string
	Created int64 // unix seconds
	// Content holds text, thinking and tool-call parts in order.
	Content      []Part
	StopReason   StopReason
	StopSequence string
	Usage        Usage
	// Op echoes the request's operation, so encoders know to render a
	// legacy text completion.
	Op Operation
}

// Text joins the text parts.
func (r *Response) Text() string {
	var out string
	for _, p := range r.Content {
		if p.Type == PartText {
			out += p.Text
		}
	}
	return out
}
