package provider

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestMembers(t *testing.T) {
	obj := " {\"a\" : 1 ,\"b\\u0063\":\"x\\\"}\\\\\" , \"n\":{\"d\":[1,{\"e\":\"]}\"}]},\"z\":null}\n"
	m, ok := members(nil, obj)
	if !ok {
		t.Fatalf("members(%s) failed", obj)
	}
	want := []member{{name: "a", key: `"a"`, val: "1"}, {name: "bc", key: `"b\u0063"`, val: `"x\"}\\"`},
		{name: "n", key: `"n"`, val: `{"d":[1,{"e":"]}"}]}`}, {name: "z", key: `"z"`, val: "null"}}
	if len(m) != len(want) {
		t.Fatalf("members: %q", m)
	}
	for i := range want {
		if m[i].name != want[i].name || m[i].key != want[i].key || m[i].val != want[i].val {
			t.Errorf("member %d = %q, want %q", i, m[i], want[i])
		}
	}
	if got := string(m.appendTo(nil)); !json.Valid([]byte(got)) || !strings.Contains(got, `"b\u0063":"x\"}\\"`) {
		t.Errorf("appendTo: %s", got)
	}
	for _, bad := range []string{``, `[]`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":"x}`, `{"a":[1}`, `{"a":1} x`, `{"a":1 "b":2}`} {
		if _, ok := members(nil, bad); ok {
			t.Errorf("members(%s) ok", bad)
		}
	}
	if m, ok := members(nil, ` { } `); !ok || len(m) != 0 {
		t.Errorf("empty object: %q %v", m, ok)
	}
}

func TestElements(t *testing.T) {
	var got []string
	ok := elements(` [ {"a":"[\"]"} , "x,y" ,3,[[]] , null ] `, func(e string) bool {
		got = append(got, e)
		return true
	})
	want := []string{`{"a":"[\"]"}`, `"x,y"`, `3`, `[[]]`, `null`}
	if !ok || strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("elements = %q (%v), want %q", got, ok, want)
	}
	for _, bad := range []string{``, `{}`, `[1,]`, `[1 2]`, `["a]`, `[1]]`} {
		if elements(bad, func(string) bool { return true }) {
			t.Errorf("elements(%s) ok", bad)
		}
	}
}

// TestPresetRewriteKeepsBytes: what a quirk does not touch is forwarded
// byte for byte — escapes, whitespace and key order included.
func TestPresetRewriteKeepsBytes(t *testing.T) {
	untouched := `{"role":"user", "content":"a <b> & \u00e9\n\"q\""}`
	body := `{"model":"m", "temperature" : 0.5,"messages":[` + untouched + `,{"role":"user","name":"ann","content":"hi"}],"stop":["x"]}`
	out, err := presetQuirks("groq").rewrite([]byte(body), "m", nil)
	want := `{"model":"m","temperature":0.5,"messages":[` + untouched + `,{"role":"user","content":"hi"}],"stop":["x"]}`
	if err != nil || string(out) != want {
		t.Errorf("groq rewrite:\n got %s (%v)\nwant %s", out, err, want)
	}
}

// FuzzPresetRewrite: no body makes a preset's rewrite panic, and a JSON
// object stays a JSON object.
func FuzzPresetRewrite(f *testing.F) {
	f.Add([]byte(`{"model":"m","max_completion_tokens":5,"reasoning_effort":"high","tools":[],"messages":[{"role":"user","name":"a","content":"x"},{"role":"user","content":[{"type":"text","text":"y"}]},{"role":"assistant","tool_calls":[{"id":"call_1","type":"function"}]},{"role":"tool","tool_call_id":"call_1","content":"ok"}]}`))
	f.Add([]byte(` { "messages" : [ { "role" : "user" , "content" : "a\"]}" } ] } `))
	f.Add([]byte(`{"messages":[1]}`))
	types := []string{"mistral", "groq", "deepseek", "xai", "openrouter", "perplexity"}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, typ := range types {
			out, err := presetQuirks(typ).rewrite(body, "grok-4", nil)
			if err == nil && json.Valid(body) && strings.HasPrefix(strings.TrimSpace(string(body)), "{") && !json.Valid(out) {
				t.Fatalf("%s: %s became invalid JSON: %s", typ, body, out)
			}
		}
	})
}
