package server

import (
	"testing"

	"github.com/tidegate/tidegate/internal/llm"
)

func TestResponsesEnvelope(t *testing.T) {
	bad := map[string]string{
		`{"input":"hi"}`:                                     "model",
		`{"model":"m"}`:                                      "input",
		`{"model":"m","input":7}`:                            "input",
		`{"model":"m","input":"x","stream":"yes"}`:           "stream",
		`{"model":"m","input":"x","previous_response_id":1}`: "previous_response_id",
	}
	for body, param := range bad {
		if _, err := responsesEnvelope([]byte(body), llm.OpChat); err == nil || err.Param != param {
			t.Errorf("%s: %v, want an error on %s", body, err, param)
		}
	}
	e, err := responsesEnvelope([]byte(`{"model":"m","previous_response_id":"resp_1","stream":true,"max_output_tokens":300}`), llm.OpChat)
	if err != nil || e.model != "m" || !e.stream || e.maxTokens != 300 {
		t.Errorf("got %+v, %v", e, err)
	}
}

func TestJoinItems(t *testing.T) {
	cases := []struct{ a, b, want string }{
		{`[1,2]`, `[3]`, `[1,2,3]`},
		{`[]`, `[3]`, `[3]`},
		{` [ 1 ] `, `[]`, `[1]`},
		{`not an array`, `[3]`, `[3]`},
		{``, ``, `[]`},
	}
	for _, c := range cases {
		if got := string(joinItems([]byte(c.a), []byte(c.b))); got != c.want {
			t.Errorf("joinItems(%q, %q) = %q, want %q", c.a, c.b, got, c.want)
		}
	}
	if got := string(inputItems([]byte(`{"input":"say \"hi\""}`))); got != `[{"role":"user","content":"say \"hi\""}]` {
		t.Errorf("string input: %s", got)
	}
	if got := string(inputItems([]byte(`{"input":[{"role":"user","content":"x"}]}`))); got != `[{"role":"user","content":"x"}]` {
		t.Errorf("array input: %s", got)
	}
	if got := string(inputItems([]byte(`{}`))); got != `[]` {
		t.Errorf("no input: %s", got)
	}
}
