package guard

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/llm"
)

func TestApplySystemPrompt(t *testing.T) {
	cases := []struct {
		d            llm.Dialect
		body         string
		replace      bool
		path, want   string
		count, wantN string
	}{
		{llm.DialectOpenAI, `{"messages":[{"role":"system","content":"caller"},{"role":"user","content":"hi"}]}`, false, "messages.0.content", "RULES", "messages.#", "3"},
		{llm.DialectOpenAI, `{"messages":[{"role":"system","content":"caller"},{"role":"developer","content":"dev"},{"role":"user","content":"hi"}]}`, true, "messages.0.content", "RULES", "messages.#", "2"},
		{llm.DialectOpenAI, `{"messages":[]}`, false, "messages.0.role", "system", "messages.#", "1"},
		{llm.DialectAnthropic, `{"messages":[]}`, false, "system", "RULES", "messages.#", "0"},
		{llm.DialectAnthropic, `{"system":"caller","messages":[]}`, false, "system", "RULES\n\ncaller", "messages.#", "0"},
		{llm.DialectAnthropic, `{"system":[{"type":"text","text":"caller","cache_control":{"type":"ephemeral"}}],"messages":[]}`, false, "system.0.text", "RULES", "system.1.cache_control.type", "ephemeral"},
		{llm.DialectAnthropic, `{"system":[{"type":"text","text":"caller"}],"messages":[]}`, true, "system", "RULES", "messages.#", "0"},
	}
	for _, tc := range cases {
		out, err := applySystemPrompt(tc.d, []byte(tc.body), "RULES", tc.replace)
		if err != nil {
			t.Fatal(err)
		}
		if got := gjson.GetBytes(out, tc.path).String(); got != tc.want || gjson.GetBytes(out, tc.count).String() != tc.wantN || !gjson.ValidBytes(out) {
			t.Errorf("%s replace=%v: %s", tc.body, tc.replace, out)
		}
	}
}

func TestSystemPromptTemplate(t *testing.T) {
	s, err := New(parse(t, `
guardrails:
  house:
    pii: off
    secrets: off
    system_prompt:
      template: 'Team {{.Team.Name}} ({{.Key.Metadata.tier}}{{.Key.Metadata.missing}}), {{.Date}}, via {{header "X-Client"}}.'
global_guardrails: [house]
`))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.Resolve("m")
	h := http.Header{}
	h.Set("X-Client", "cli")
	caller := Caller{Key: Principal{Metadata: map[string]string{"tier": "gold"}}, Team: Principal{Name: "Ops"}, Header: h,
		Now: time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC)}
	out, err := p.Request(llm.DialectOpenAI, []byte(`{"messages":[{"role":"user","content":"hi"}]}`), p.NewSession(), RequestInfo{Caller: caller})
	if err != nil {
		t.Fatal(err)
	}
	if got := gjson.GetBytes(out, "messages.0.content").String(); got != "Team Ops (gold), 2026-12-06, via cli." {
		t.Fatalf("rendered %q", got)
	}
	for _, tc := range []struct {
		tmpl, want string
		caller     Caller
	}{
		{`{{if .User.Name}}Hello {{.User.Name}}{{else}}Hello stranger{{end}}{{/* note */}}, {{.Time}}`, "Hello Ann, 2026-12-06T23:00:00Z",
			Caller{User: Principal{Name: "Ann"}, Now: caller.Now}},
		{`{{if .User.Name}}Hello {{.User.Name}}{{else}}Hello stranger{{end}}{{/* note */}}, {{.Time}}`, "Hello stranger, 2026-12-06T23:00:00Z",
			Caller{Now: caller.Now}},
		{`{{.Key.ID}}/{{.Team.ID}} {{if header "X-Tier"}}tier {{header "X-Tier"}}{{end}}`, "k1/t1 tier gold",
			Caller{Key: Principal{ID: "k1"}, Team: Principal{ID: "t1"}, Header: http.Header{"X-Tier": {"gold"}}}},
	} {
		sp, err := compilePrompt("t", tc.tmpl, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := sp.render(tc.caller); got != tc.want {
			t.Errorf("%s: rendered %q, want %q", tc.tmpl, got, tc.want)
		}
	}
	for tmpl, want := range map[string]string{
		"'{{.Nope}}'":                      "can't evaluate field .Nope",
		"'{{.Key.Metadata}}'":              "can't evaluate field .Key.Metadata",
		"'{{.Key.Name'":                    "unclosed action",
		"'{{printf \"%s\" .Date}}'":        `function "printf" not defined`,
		"'{{header}}'":                     "header takes one quoted header name",
		"'{{.Date | header}}'":             "only one field or header call per action",
		"'{{range .Key.Name}}x{{end}}'":    "is not supported in a system prompt",
		"'{{define \"x\"}}y{{end}}'":       "{{define}} and {{block}} are not supported",
		"'{{$x := .Date}}'":                "only one field or header call per action",
		"'{{with .Key.Name}}{{.}}{{end}}'": "is not supported in a system prompt",
	} {
		_, err := New(parse(t, "guardrails:\n  g:\n    system_prompt: {template: "+tmpl+"}\n"))
		if err == nil || !strings.Contains(err.Error(), "guardrails.g.system_prompt.template") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", tmpl, err)
		}
	}
}

// FuzzCompilePrompt: any template either refuses to compile or renders
// without panicking.
func FuzzCompilePrompt(f *testing.F) {
	for _, s := range []string{`Team {{.Team.Name}}`, `{{if .Key.ID}}a{{else}}b{{end}}`, `{{header "X"}}`, `{{.Key.Metadata.t}}{{/* c */}}`, `{{range .X}}{{end}}`, `{{`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		sp, err := compilePrompt("f", text, "")
		if err != nil {
			return
		}
		sp.render(Caller{Key: Principal{ID: "k", Metadata: map[string]string{"t": "v"}}, Header: http.Header{"X": {"y"}}})
	})
}
