package policy

import (
	"net/http"
	"strings"
	"testing"
)

func compiler(t testing.TB) *Compiler {
	t.Helper()
	c, err := NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestExprMatches(t *testing.T) {
	c := compiler(t)
	v := &Vars{Model: "smart", Path: "/v1/messages", Dialect: "anthropic", Stream: true, Tokens: 1500, MaxTokens: 200,
		Header:   http.Header{"X-Team": {"research"}, "Anthropic-Beta": {"a", "b"}},
		Metadata: map[string]any{"tier": "gold"}}
	cases := map[string]bool{
		`model == "smart"`:                        true,
		`tokens > 1000 && max_tokens < 500`:       true,
		`headers["x-team"] == "research"`:         true,
		`headers["anthropic-beta"] == "a,b"`:      true,
		`"x-missing" in headers`:                  false,
		`stream && dialect == "anthropic"`:        true,
		`path.startsWith("/v1/chat")`:             false,
		`metadata.tier == "gold"`:                 true,
		`has(key.team) && key.team == "research"`: false,
	}
	for src, want := range cases {
		e, err := c.Compile(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		got, err := e.Match(v)
		if err != nil || got != want {
			t.Errorf("%s: got %v, %v; want %v", src, got, err, want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	c := compiler(t)
	for src, want := range map[string]string{
		``:                 "empty",
		`model ==`:         "invalid CEL",
		`tokens + 1`:       "must be a bool",
		`unknown_var == 1`: "undeclared reference",
		`model == 3`:       "no matching overload",
	} {
		if _, err := c.Compile(src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: want %q, got %v", src, want, err)
		}
	}
}

func TestRuntimeErrorIsNoMatch(t *testing.T) {
	c := compiler(t)
	e, _ := c.Compile(`key.team == "x"`) // key is empty: no such key
	if ok, err := e.Match(&Vars{}); ok || err == nil {
		t.Fatalf("want an error and no match, got %v %v", ok, err)
	}
}

func TestEngine(t *testing.T) {
	c := compiler(t)
	known := func(n string) bool { return n == "premium" || n == "cheap" }
	e, err := NewEngine(c, []Rule{
		{When: `key.team == "x"`, Target: "premium"}, // errors at runtime: skipped
		{When: `tokens > 100000`, Deny: "prompt too large for this gateway"},
		{When: `headers["x-team"] == "research"`, Target: "premium"},
		{When: `true`, AllowTargets: []string{"cheap", "premium"}},
	}, known)
	if err != nil {
		t.Fatal(err)
	}
	d := e.Decide(&Vars{Tokens: 200000})
	if d.Deny != "prompt too large for this gateway" || d.Rule != 1 || len(d.Errors) != 1 {
		t.Fatalf("%+v", d)
	}
	d = e.Decide(&Vars{Header: http.Header{"X-Team": {"research"}}})
	if d.Target != "premium" || d.Rule != 2 {
		t.Fatalf("%+v", d)
	}
	d = e.Decide(&Vars{})
	if d.Rule != 3 || len(d.AllowTargets) != 2 {
		t.Fatalf("%+v", d)
	}
}

func TestEngineReportsEveryProblem(t *testing.T) {
	_, err := NewEngine(compiler(t), []Rule{
		{When: `model ==`, Target: "premium"},
		{When: `true`, Target: "nope"},
		{When: `true`},
		{When: `true`, Target: "premium", Deny: "x"},
		{When: `true`, AllowTargets: []string{"ghost"}},
	}, func(n string) bool { return n == "premium" })
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		"policies[0].when: invalid CEL",
		`policies[1].target: unknown target "nope"`,
		"policies[2]: set exactly one of",
		"policies[3]: set exactly one of",
		`policies[4].allow_targets[0]: unknown target "ghost"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	c := compiler(b)
	e, _ := c.Compile(`tokens > 1000 && headers["x-team"] == "research"`)
	v := &Vars{Tokens: 2000, Header: http.Header{"X-Team": {"research"}}}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := e.Match(v); !ok {
			b.Fatal("no match")
		}
	}
}
