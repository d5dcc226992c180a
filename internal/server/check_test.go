package server

import (
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/llm"
)

func TestCheckJSON(t *testing.T) {
	cases := map[string]string{
		"":                       "empty",
		"{\"a\":\"\xff\"}":       "UTF-8",
		"{\"a\":":                "not valid JSON",
		"[1,2]":                  "must be a JSON object",
		strings.Repeat("[", 200): "nests deeper",
		`{"a":"` + strings.Repeat("[", 300) + `"}`: "", // brackets inside strings do not count
		`{"a":"\"[[["}`: "",
		`{"model":"x"}`: "",
	}
	for in, want := range cases {
		err := checkJSON([]byte(in))
		switch {
		case want == "" && err != nil:
			t.Errorf("%.40q: unexpected %v", in, err)
		case want != "" && (err == nil || !strings.Contains(err.Message, want)):
			t.Errorf("%.40q: want %q, got %v", in, want, err)
		}
	}
}

func TestEnvelope(t *testing.T) {
	cases := []struct {
		body, param string
		op          llm.Operation
	}{
		{`{"messages":[]}`, "model", llm.OpChat},
		{`{"model":3,"messages":[]}`, "model", llm.OpChat},
		{`{"model":"m"}`, "messages", llm.OpChat},
		{`{"model":"m","messages":{}}`, "messages", llm.OpChat},
		{`{"model":"m","messages":[],"stream":"yes"}`, "stream", llm.OpChat},
		{`{"model":"m"}`, "prompt", llm.OpCompletion},
	}
	for _, c := range cases {
		_, err := envelope([]byte(c.body), c.op)
		if err == nil || err.Param != c.param || err.Kind != llm.KindInvalidRequest {
			t.Errorf("%s: want param %q, got %v", c.body, c.param, err)
		}
	}
	e, err := envelope([]byte(`{"model":"m","messages":[],"stream":true,"stream_options":{"include_usage":true}}`), llm.OpChat)
	if err != nil || e.model != "m" || !e.stream || !e.includeUsage {
		t.Fatalf("%+v %v", e, err)
	}
	for body, want := range map[string]int{
		`{"model":"m","messages":[],"max_tokens":512}`:           512,
		`{"model":"m","messages":[],"max_completion_tokens":64}`: 64,
		`{"model":"m","messages":[],"max_tokens":"lots"}`:        0,
		`{"model":"m","messages":[],"max_tokens":-3}`:            0,
		`{"model":"m","messages":[]}`:                            0,
	} {
		if e, err := envelope([]byte(body), llm.OpChat); err != nil || e.maxTokens != want {
			t.Errorf("%s: max tokens %d, want %d (%v)", body, e.maxTokens, want, err)
		}
	}
}

// simpleDepth is depth written the obvious way, byte by byte: the
// reference FuzzDepth holds the fast one to.
func simpleDepth(b []byte) int {
	d, max := 0, 0
	inString, escaped := false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			d++
			if d > max {
				max = d
				if max > maxDepth {
					return max
				}
			}
		case '}', ']':
			d--
		}
	}
	return max
}

func FuzzDepth(f *testing.F) {
	for _, s := range []string{`{"a":[1,{"b":"c"}]}`, `{"a":"\"[[["}`, `{"a":"\\"}`, `["\\\"",[[]]]`, strings.Repeat("[", 200), `{"a":"x`, `"\\\\\\"[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := depth(b), simpleDepth(b); got != want {
			t.Fatalf("depth(%q) = %d, want %d", b, got, want)
		}
	})
}

// BenchmarkCheckJSON checks a 160 KB agent request (most of it strings).
func BenchmarkCheckJSON(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"model":"m","messages":[`)
	for i := range 200 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"role":"user","content":"` + strings.Repeat(`The service reads \"orders\" from the queue and writes an audit record. `, 11) + `"}`)
	}
	sb.WriteString(`]}`)
	body := []byte(sb.String())
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := checkJSON(body); err != nil {
			b.Fatal(err)
		}
	}
}
