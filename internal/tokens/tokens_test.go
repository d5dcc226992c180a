package tokens

import (
	"fmt"
	"hash/maphash"
	"runtime"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/llm"
)

func TestCounts(t *testing.T) {
	c := New()
	n, err := c.Text("hello world")
	if err != nil || n != 2 {
		t.Fatalf("hello world: %d %v", n, err)
	}
	req := &llm.Request{Messages: []llm.Message{
		{Role: llm.RoleSystem, Content: []llm.Part{llm.TextPart("Be brief.")}},
		{Role: llm.RoleUser, Content: []llm.Part{llm.TextPart("hello world"), {Type: llm.PartImage, Image: &llm.Image{URL: "http://x"}}}},
	}, Tools: []llm.Tool{{Name: "get_weather", Parameters: []byte(`{"type":"object"}`)}}}
	total, err := c.Request(req)
	if err != nil {
		t.Fatal(err)
	}
	// 3 reply + 2×3 framing + "Be brief." + "hello world" + image + tool name and schema
	if total < 3+6+2+2+perImage+2 || total > 3+6+2+2+perImage+20 {
		t.Fatalf("total %d out of range", total)
	}
}

// TestMemo: a long text's count is remembered (the same answer, without
// counting again), distinct texts of one length are told apart, and the
// memo stays within two generations.
func TestMemo(t *testing.T) {
	c := New()
	c.memoCap = 4
	text := func(i int) string { return strings.Repeat(fmt.Sprintf("word%d ", i%10), 60) } // > memoMinLen
	want := map[int]int{}
	for i := range 10 {
		n, err := New().Text(text(i)) // a fresh counter: the true count
		if err != nil {
			t.Fatal(err)
		}
		want[i] = n
	}
	for round := range 3 {
		for i := range 10 {
			n, err := c.Text(text(i))
			if err != nil || n != want[i] {
				t.Fatalf("round %d text %d: %d %v, want %d", round, i, n, err, want[i])
			}
		}
		if got := len(c.memo[0]) + len(c.memo[1]); got > 2*c.memoCap {
			t.Fatalf("memo holds %d counts, more than two generations of %d", got, c.memoCap)
		}
	}
	// A remembered count is served without counting: a poisoned entry shows it.
	c.memoCap = 100
	long := text(3)
	c.Text(long)
	c.mu.Lock()
	c.memo[0][memoKey{maphash.String(c.seed, long), len(long)}] = -7
	c.mu.Unlock()
	if n, _ := c.Text(long); n != -7 {
		t.Fatalf("remembered count not used: %d", n)
	}
	if n, _ := c.Text("short text"); n != 2 {
		t.Fatalf("short text: %d", n)
	}
}

// BenchmarkAgentRequest counts a coding agent's request (a long system
// prompt, 8 tools, 40 turns): "first" counting every text, "next" as the
// conversation's following request, which repeats everything but a turn.
func BenchmarkAgentRequest(b *testing.B) {
	para := strings.Repeat("The service reads the order from the queue, checks the customer's credit and writes an audit record. ", 12)
	req := &llm.Request{Prompt: strings.Repeat("You are a careful coding agent. ", 200)}
	for i := range 8 {
		req.Tools = append(req.Tools, llm.Tool{Name: fmt.Sprintf("tool_%d", i), Description: para, Parameters: []byte(`{"type":"object","properties":{"path":{"type":"string"}}}`)})
	}
	for i := range 40 {
		req.Messages = append(req.Messages, llm.Message{Role: llm.RoleUser, Content: []llm.Part{llm.TextPart(fmt.Sprintf("turn %d: %s", i, para))}})
	}
	b.Run("first", func(b *testing.B) {
		c := New()
		c.memoCap = 0 // every text counted, as in a conversation's first request
		for b.Loop() {
			if _, err := c.Request(req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("next", func(b *testing.B) {
		c := New()
		c.Request(req)
		last := &req.Messages[len(req.Messages)-1].Content[0]
		i := 0
		for b.Loop() {
			i++
			last.Text = fmt.Sprintf("turn %d: %s", i, para) // one new turn per request
			if _, err := c.Request(req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCount is the counting speed (MB/s) of texts of about 4 KB that
// are not remembered: English prose, Go code, Chinese, and 64 KB of
// lowercase letters (one piece for byte-pair encoding).
func BenchmarkCount(b *testing.B) {
	letters := make([]byte, 64<<10)
	for i := range letters {
		letters[i] = byte('a' + i*7919%26)
	}
	for _, tc := range []struct{ name, text string }{
		{"english", strings.Repeat("The service reads the order from the queue, checks the customer's credit and writes an audit record. ", 40)},
		{"code", strings.Repeat("func (c *Counter) count(s string) (int, error) {\n\tn, err := c.load().Count(s)\n\tif err != nil {\n\t\treturn 0, fmt.Errorf(\"count tokens: %w\", err)\n\t}\n\treturn n, nil\n}\n\n", 30)},
		{"chinese", strings.Repeat("服务从队列中读取订单，检查客户的信用并写入审计记录。", 55)},
		{"letters", string(letters)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := New()
			c.memoCap = 0
			c.Text("load") // BenchmarkLoad measures that
			b.SetBytes(int64(len(tc.text)))
			for b.Loop() {
				if _, err := c.Text(tc.text); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoad is a Counter's first use: decoding the vocabulary and
// compiling the split pattern. B/op is what that allocates, live-MB the
// heap a Counter keeps for it.
func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := newBPE(); err != nil {
			b.Fatal(err)
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v, err := newBPE()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/1e6, "live-MB")
}
