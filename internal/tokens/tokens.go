// Package tokens estimates prompt sizes locally with an embedded BPE
// tokenizer (o200k_base), for count_tokens when the upstream cannot count
// and for budget and rate-limit reservations.
package tokens

import (
	"fmt"
	"hash/maphash"
	"sync"

	"github.com/tidegate/tidegate/internal/llm"
)

// Per-item overheads, following OpenAI's published counting recipe: each
// message costs a few framing tokens and the reply is primed with three.
const (
	perMessage = 3
	perReply   = 3
	perImage   = 1600 // a typical 1024×1024 image; exact size needs the pixels
)

// Counter counts tokens. The vocabulary, 1.1 MB gzip'd in the binary, is
// decoded on first use: about 70 ms and 9 MB of heap for each Counter (a
// server shares one).
//
// Counting is slow (about 0.15 ms per KB of English here) and agents send
// the same system prompt, tool definitions and earlier turns with every
// request, so counts of long texts are remembered: a conversation's next
// request pays for its new messages only.
type Counter struct {
	once    sync.Once
	bpe     *bpe
	loadErr error

	seed    maphash.Seed
	mu      sync.Mutex
	memo    [2]map[memoKey]int // current and previous generation: a rough LRU
	memoCap int                // entries per generation
}

// memoKey identifies a text by a 64-bit hash and its length; a collision
// (odds of 2^-64 per pair) would only misestimate one count.
type memoKey struct {
	hash uint64
	len  int
}

const (
	memoMinLen  = 256     // shorter texts are counted again: cheaper than hashing and locking
	memoEntries = 1 << 15 // per generation
)

// New returns a Counter.
func New() *Counter {
	return &Counter{seed: maphash.MakeSeed(), memo: [2]map[memoKey]int{{}, {}}, memoCap: memoEntries}
}

func (c *Counter) load() (*bpe, error) {
	c.once.Do(func() { c.bpe, c.loadErr = newBPE() })
	return c.bpe, c.loadErr
}

// Text counts the tokens of s.
func (c *Counter) Text(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	if len(s) < memoMinLen || c.memoCap == 0 {
		return c.count(s)
	}
	k := memoKey{maphash.String(c.seed, s), len(s)}
	if n, ok := c.remembered(k); ok {
		return n, nil
	}
	n, err := c.count(s)
	if err == nil {
		c.remember(k, n)
	}
	return n, err
}

func (c *Counter) count(s string) (int, error) {
	b, err := c.load()
	if err != nil {
		return 0, fmt.Errorf("count tokens: %w", err)
	}
	n, err := b.count(s)
	if err != nil {
		return 0, fmt.Errorf("count tokens: %w", err)
	}
	return n, nil
}

func (c *Counter) remembered(k memoKey) (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.memo[0][k]; ok {
		return n, true
	}
	n, ok := c.memo[1][k]
	if ok {
		c.put(k, n) // still in use: keep it past the next rotation
	}
	return n, ok
}

func (c *Counter) remember(k memoKey, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.put(k, n)
}

// put adds to the current generation; a full one becomes the previous
// and the oldest is dropped.
func (c *Counter) put(k memoKey, n int) {
	if len(c.memo[0]) >= c.memoCap {
		c.memo[1], c.memo[0] = c.memo[0], make(map[memoKey]int, c.memoCap/4)
	}
	c.memo[0][k] = n
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
