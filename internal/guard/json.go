package guard

import (
	"sort"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/jsonw"
	"github.com/tidegate/tidegate/internal/llm"
)

// Text is one string a model sees (or wrote), found in a JSON body in the
// caller's dialect, with where its string token sits so it can be
// rewritten in place.
type Text struct {
	// Role of the message it belongs to (system, user, assistant, tool);
	// "" in responses.
	Role string
	// Msg is the message index; -1 for a top-level system prompt or prompt.
	Msg   int
	Value string
	pos   int // offset of the JSON string token (its opening quote)
	n     int // length of the token
}

// RequestTexts appends every text of a chat request body that a model
// sees: system prompts, user and assistant messages, tool results and
// tool-call arguments (for Anthropic tool_use, every string inside
// input). Images, audio, files and signed thinking blocks are skipped.
func RequestTexts(d llm.Dialect, body []byte, dst []Text) []Text {
	if in := gjson.GetBytes(body, "input"); in.Exists() && !gjson.GetBytes(body, "messages").Exists() {
		return allStrings(in, "user", -1, dst) // embeddings: the input texts
	}
	if d == llm.DialectAnthropic {
		sys := gjson.GetBytes(body, "system")
		dst = contentTexts(sys, "system", -1, dst)
	} else if p := gjson.GetBytes(body, "prompt"); p.Exists() { // legacy completions
		dst = allStrings(p, "user", -1, dst)
	}
	i := 0
	gjson.GetBytes(body, "messages").ForEach(func(_, m gjson.Result) bool {
		role := get(m, "role").String()
		if role == "developer" {
			role = "system"
		}
		dst = contentTexts(get(m, "content"), role, i, dst)
		if d != llm.DialectAnthropic {
			get(m, "tool_calls").ForEach(func(_, tc gjson.Result) bool {
				dst = str(get(tc, "function.arguments"), role, i, dst)
				return true
			})
			dst = str(get(m, "function_call.arguments"), role, i, dst)
		}
		i++
		return true
	})
	return dst
}

// ResponseTexts appends the texts of a whole (non-stream) response body:
// OpenAI choices' content, legacy text and tool-call arguments; Anthropic
// text blocks and every string inside tool_use input.
func ResponseTexts(d llm.Dialect, body []byte, dst []Text) []Text {
	if d == llm.DialectAnthropic {
		return contentTexts(gjson.GetBytes(body, "content"), "", -1, dst)
	}
	gjson.GetBytes(body, "choices").ForEach(func(_, c gjson.Result) bool {
		dst = str(get(c, "text"), "", -1, dst)
		msg := get(c, "message")
		dst = str(get(msg, "content"), "", -1, dst)
		get(msg, "tool_calls").ForEach(func(_, tc gjson.Result) bool {
			dst = str(get(tc, "function.arguments"), "", -1, dst)
			return true
		})
		return true
	})
	return dst
}

// contentTexts reads a content value: a string, or an array of blocks.
func contentTexts(c gjson.Result, role string, msg int, dst []Text) []Text {
	if c.Type == gjson.String {
		return str(c, role, msg, dst)
	}
	c.ForEach(func(_, b gjson.Result) bool {
		switch get(b, "type").String() {
		case "text", "input_text", "output_text":
			dst = str(get(b, "text"), role, msg, dst)
		case "tool_use", "server_tool_use":
			dst = allStrings(get(b, "input"), role, msg, dst)
		case "document":
			if src := get(b, "source"); get(src, "type").Str == "text" {
				dst = str(get(src, "data"), role, msg, dst) // a plain-text document
			}
		case "tool_result":
			r := "tool"
			if role == "system" {
				r = role
			}
			dst = contentTexts(get(b, "content"), r, msg, dst)
		}
		return true
	})
	return dst
}

// allStrings appends every string value inside v (not object keys).
func allStrings(v gjson.Result, role string, msg int, dst []Text) []Text {
	switch {
	case v.Type == gjson.String:
		return str(v, role, msg, dst)
	case v.IsArray() || v.IsObject():
		v.ForEach(func(_, e gjson.Result) bool {
			dst = allStrings(e, role, msg, dst)
			return true
		})
	}
	return dst
}

func str(v gjson.Result, role string, msg int, dst []Text) []Text {
	if v.Type != gjson.String || v.Str == "" || v.Index <= 0 {
		return dst
	}
	return append(dst, Text{Role: role, Msg: msg, Value: v.Str, pos: v.Index, n: len(v.Raw)})
}

// get is Result.Get, whose Index is already relative to the whole body
// when r's is; a result without a known offset is never rewritten.
func get(r gjson.Result, path string) gjson.Result {
	v := r.Get(path)
	if r.Index <= 0 {
		v.Index = 0
	}
	return v
}

// Edit replaces one text's value.
type Edit struct {
	Text  Text
	Value string
}

// Rewrite returns body with each edited text replaced by its new value
// (JSON-encoded); every other byte is kept.
func Rewrite(body []byte, edits []Edit) []byte {
	if len(edits) == 0 {
		return body
	}
	sort.Slice(edits, func(i, j int) bool { return edits[i].Text.pos < edits[j].Text.pos })
	out := make([]byte, 0, len(body)+len(body)/8)
	prev := 0
	for _, e := range edits {
		if e.Text.pos < prev || e.Text.pos+e.Text.n > len(body) || body[e.Text.pos] != '"' {
			continue // not a string token of this body: never edit blindly
		}
		out = append(out, body[prev:e.Text.pos]...)
		out = jsonw.AppendString(out, e.Value)
		prev = e.Text.pos + e.Text.n
	}
	return append(out, body[prev:]...)
}

// maxDepth bounds the nesting of bodies the guard walks (the LLM routes
// refuse deeper bodies before the guard runs).
const maxDepth = 128

// depth is the deepest nesting of arrays and objects in a JSON text.
func depth(body []byte) int {
	d, deepest, inString := 0, 0, false
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			d++
			deepest = max(deepest, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return deepest
}
