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
