// Package tokens estimates prompt sizes locally with an embedded BPE
// tokenizer (o200k_base), for count_tokens when the upstream cannot count
// and, later, for budget and rate-limit reservations.
package tokens

import (
	"fmt"
	"sync"

	"github.com/tiktoken-go/tokenizer/codec"

	"github.com/tidegate/tidegate/internal/llm"
)

// Per-item overheads, following OpenAI's published counting recipe: each
// message costs a few framing tokens and the reply is primed with three.
const (
	perMessage = 3
	perReply   = 3
	perImage   = 1600 // a typical 1024×1024 image; exact size needs the pixels
)

// Counter counts tokens. The vocabulary is loaded on first use.
type Counter struct {
	once  sync.Once
	codec *codec.Codec
}

// New returns a Counter.
func New() *Counter { return &Counter{} }

func (c *Counter) load() *codec.Codec {
	c.once.Do(func() {
		// Only this encoding: tokenizer.Get would link all four
		// vocabularies (about 5 MB more binary).
		c.codec = codec.NewO200kBase()
	})
	return c.codec
}

// Text counts the tokens of s.
func (c *Counter) Text(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := c.load().Count(s)
	if err != nil {
		return 0, fmt.Errorf("count tokens: %w", err)
	}
	return n, nil
}

// Request counts the prompt of a canonical request: every message's text,
// tool calls and results, images (estimated) and tool definitions.
func (c *Counter) Request(req *llm.Request) (int, error) {
	total := perReply
	add := func(s string) error {
		n, err := c.Text(s)
		total += n
		return err
	}
	if err := add(req.Prompt); err != nil {
		return 0, err
	}
	for _, m := range req.Messages {
		total += perMessage
		if err := c.parts(m.Content, add, &total); err != nil {
			return 0, err
		}
	}
	for _, t := range req.Tools {
		if err := add(t.Name); err != nil {
			return 0, err
		}
		if err := add(t.Description); err != nil {
			return 0, err
		}
		if err := add(string(t.Parameters)); err != nil {
			return 0, err
		}
	}
	return total, nil
}

func (c *Counter) parts(parts []llm.Part, add func(string) error, total *int) error {
	for _, p := range parts {
		var err error
		switch p.Type {
		case llm.PartText, llm.PartThinking:
			err = add(p.Text)
		case llm.PartImage:
			*total += perImage
		case llm.PartToolCall:
			if err = add(p.ToolCall.Name); err == nil {
				err = add(p.ToolCall.Arguments)
			}
		case llm.PartToolResult:
			err = c.parts(p.ToolResult.Content, add, total)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
