package tokens

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tiktoken-go/tokenizer/codec"
)

// The reference is github.com/tiktoken-go/tokenizer's o200k_base codec,
// which the vocabulary is generated from; only the tests link it.

// TestVocabularyGenerated: the embedded vocabulary is the reference's, rank
// for rank (after updating that library, run go generate ./internal/tokens).
func TestVocabularyGenerated(t *testing.T) {
	ranks, err := readRanks(o200kBase, o200kTokens)
	if err != nil {
		t.Fatal(err)
	}
	ref := codec.NewO200kBase()
	for tok, rank := range ranks {
		if want, err := ref.Decode([]uint{uint(rank)}); err != nil || want != tok {
			t.Fatalf("rank %d: %q, the reference has %q (%v)", rank, tok, want, err)
		}
	}
	if _, err := ref.Decode([]uint{o200kTokens}); err == nil {
		t.Fatalf("the reference has more than %d tokens", o200kTokens)
	}
}

// TestSplitMatcherGenerated: split.gen.go has the matcher of the pattern
// newBPE compiles. Without it regexp2 would interpret the pattern: the
// same counts, half as fast.
func TestSplitMatcherGenerated(t *testing.T) {
	b, err := newBPE()
	if err != nil {
		t.Fatal(err)
	}
	gen, err := os.ReadFile("split.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(gen), "regexp2.RegisterEngine("+strconv.Quote(b.split.String())+",") {
		t.Error("split.gen.go is not generated from the split pattern: run go generate ./internal/tokens")
	}
}

// TestReadRanksCorrupt: a damaged vocabulary is an error, not a panic or
// a wrong count.
func TestReadRanksCorrupt(t *testing.T) {
	for name, gz := range map[string][]byte{
		"empty":     nil,
		"truncated": o200kBase[:len(o200kBase)/2],
		"not gzip":  []byte("o200k"),
	} {
		if _, err := readRanks(gz, o200kTokens); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := readRanks(o200kBase, o200kTokens+1); err == nil {
		t.Error("a missing token: no error")
	}
}

// corpus is text of every kind a prompt holds, and some no prompt should.
func corpus() []string {
	rnd := rand.New(rand.NewPCG(10, 20))
	letters := func(n int, from string) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = from[rnd.IntN(len(from))]
		}
		return string(b)
	}
	return []string{
		"",
		"hello world",
		"Hello, World! HELLO world. hello-world_hello.world",
		"The quick brown fox jumps over the lazy dog. It's, I'M, we'LL, they've, she'd, you're, DON'T.",
		strings.Repeat("The service reads the order from the queue, checks the customer's credit and writes an audit record. ", 30),
		// code
		"package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfor i := 0; i < 10; i++ {\n\t\tfmt.Println(i*i, \"squared\")\n\t}\n}\n",
		"def f(x):\n    return [y ** 2 for y in range(x) if y % 3 == 0]  # comment\r\n\r\nclass A(B):\n    pass\n",
		"#include <stdio.h>\nint main(void){printf(\"%d\\n\",42);return 0;}",
		"SELECT id, name FROM users WHERE created_at >= '2024-01-01' ORDER BY id DESC LIMIT 100;",
		// JSON
		`{"type":"object","properties":{"path":{"type":"string","description":"A file path"},"n":{"type":"integer","minimum":0}},"required":["path"]}`,
		"{\n  \"a\": [1, 2, 3.5e10, -7, true, false, null],\n  \"b\": {\"c\": \"\\u00e9\\n\\t\"}\n}",
		// numbers
		"1234567890 12 123 1234 3.14159 1,000,000 0x1F 1e-9 ٣٤٥ ໑໒",
		// CJK and other scripts
		"服务从队列中读取订单，检查客户的信用并写入审计记录。",
		"日本語のテキストです。カタカナとひらがな、漢字。",
		"한국어 텍스트입니다. 안녕하세요!",
		"Привет, мир! Ελληνικά κείμενα. مرحبا بالعالم. שלום עולם. नमस्ते दुनिया। สวัสดีชาวโลก",
		"e\u0301 a\u0308 n\u0303 combining marks, ﬁ ligature, ǅ titlecase, ÀÉÎÕÜ àéîõü",
		// emoji
		"emoji 😄👍🏽👨‍👩‍👧‍👦 🇫🇷🇯🇵 ❤️ ☃ 🏳️‍🌈",
		strings.Repeat("🙂", 50),
		// invalid UTF-8
		"bad \xff\xfe utf8",
		"\xc3( \xa0\xa1 \xe2\x28\xa1 \xe2\x82( \xf0\x28\x8c\xbc \xf0\x90\x28\xbc \xf0\x28\x8c\x28",
		"truncated \xe2\x82",
		"\xed\xa0\x80 surrogate, \xc0\xaf overlong, \xf4\x90\x80\x80 too high",
		strings.Repeat("\x80", 40),
		"\x00\x01\x02 control \x7f\x1b[31m",
		// whitespace runs
		"   ",
		"\n\n\n\n",
		"a   b\t\t\tc\r\n\r\nd \n \n e",
		strings.Repeat(" ", 300),
		strings.Repeat("\n", 200) + "x" + strings.Repeat("\t ", 100),
		"trailing spaces   \n   leading",
		// special tokens are counted as text
		"<|endoftext|>",
		"<|endofprompt|> and <|endoftext|><|endoftext|> <|fim_prefix|>",
		// long pieces: the reference switches its merging at 96 bytes
		strings.Repeat("a", 95),
		strings.Repeat("a", 97),
		letters(5000, "abcdefghijklmnopqrstuvwxyz"),
		" " + letters(300, "abcdefghijklmnopqrstuvwxyzéü"),
		letters(2000, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"),
		strings.Repeat("-", 500) + strings.Repeat("=", 3) + strings.Repeat("*", 97),
		"https://example.com/path/to/resource?query=value&other=123#fragment",
		"Markdown: # Title\n\n- item **bold** _it_ `code`\n\n```go\nx := 1\n```\n| a | b |\n|---|---|\n",
	}
}

func TestCountMatchesReference(t *testing.T) {
	c, ref := New(), codec.NewO200kBase()
	for _, s := range corpus() {
		want, err := ref.Count(s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Text(s)
		if err != nil || got != want {
			t.Errorf("%.60q (%d bytes): %d %v, the reference counts %d", s, len(s), got, err, want)
		}
	}
}

func FuzzCountMatches(f *testing.F) {
	for _, s := range corpus() {
		f.Add(s)
	}
	c, ref := New(), codec.NewO200kBase()
	f.Fuzz(func(t *testing.T, s string) {
		want, err := ref.Count(s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Text(s)
		if err != nil || got != want {
			t.Errorf("%q: %d %v, the reference counts %d", s, got, err, want)
		}
	})
}

// TestCountConcurrent: one Counter serves concurrent requests (run with
// -race), its first use included.
func TestCountConcurrent(t *testing.T) {
	texts, ref := corpus(), codec.NewO200kBase()
	want := make([]int, len(texts))
	for i, s := range texts {
		want[i], _ = ref.Count(s)
	}
	c := New()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for k := range texts {
				i := (k + g*7) % len(texts)
				if got, err := c.Text(texts[i]); err != nil || got != want[i] {
					t.Errorf("%.40q: %d %v, want %d", texts[i], got, err, want[i])
				}
			}
		})
	}
	wg.Wait()
}
