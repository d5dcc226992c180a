package server

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/llm"
)

// maxDepth bounds JSON nesting; real requests (tool schemas included) stay
// far below it, and it keeps every decoder's recursion shallow.
const maxDepth = 128

// checkJSON rejects bodies that no path may forward: invalid UTF-8,
// malformed JSON, or nesting deeper than maxDepth.
func checkJSON(body []byte) *llm.Error {
	if len(body) == 0 {
		return &llm.Error{Kind: llm.KindInvalidRequest, Message: "the request body is empty; send a JSON object"}
	}
	if !utf8.Valid(body) {
		return &llm.Error{Kind: llm.KindInvalidRequest, Message: "the request body is not valid UTF-8"}
	}
	if d := depth(body); d > maxDepth {
		return &llm.Error{Kind: llm.KindInvalidRequest, Message: fmt.Sprintf("the request body nests deeper than %d levels", maxDepth)}
	}
	if !gjson.ValidBytes(body) {
		return &llm.Error{Kind: llm.KindInvalidRequest, Message: "the request body is not valid JSON"}
	}
	if bytes.TrimLeft(body, " \t\r\n")[0] != '{' { // valid JSON has a first byte
		return &llm.Error{Kind: llm.KindInvalidRequest, Message: "the request body must be a JSON object"}
	}
	return nil
}

// depth returns the deepest nesting of arrays and objects, stopping early
// once it passes maxDepth. Strings, where most of a prompt's bytes are,
// are skipped with bytes.IndexByte to their closing quote.
func depth(b []byte) int {
	d, max := 0, 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			end := stringEnd(b, i+1)
			if end < 0 {
				return max // unterminated: the validator says so
			}
			i = end
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

// stringEnd is the index of the quote that closes a string whose content
// starts at from (-1: none): the first quote not escaped by an odd run of
// backslashes.
func stringEnd(b []byte, from int) int {
	for {
		j := bytes.IndexByte(b[from:], '"')
		if j < 0 {
			return -1
		}
		q := from + j
		n := 0
		for k := q - 1; k >= from && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return q
		}
		from = q + 1
	}
}

// env is the little a route needs before routing: model and stream flags.
type env struct {
	model        string
	stream       bool
	includeUsage bool
	maxTokens    int // max_tokens or max_completion_tokens; 0 when unset
}

// envelope reads and type-checks the routing fields without decoding the
// rest of the body; the full decode happens only if translation needs it.
// One pass over the top-level keys, skipping every value it does not need.
func envelope(body []byte, op llm.Operation) (env, *llm.Error) {
	content := "messages"
	if op == llm.OpCompletion {
		content = "prompt"
	}
	var model, stream, opts, msgs gjson.Result
	maxTokens := 0
	gjson.ParseBytes(body).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			model = v
		case "stream":
			stream = v
		case "stream_options":
			opts = v
		case "max_tokens", "max_completion_tokens":
			if v.Type == gjson.Number && v.Num > 0 && maxTokens == 0 {
				maxTokens = int(min(v.Num, 1<<31))
			}
		case content:
			msgs = v
		}
		return true
	})
	if model.Type != gjson.String || model.Str == "" {
		return env{}, &llm.Error{Kind: llm.KindInvalidRequest, Param: "model", Message: "model is required and must be a non-empty string"}
	}
	if stream.Exists() && stream.Type != gjson.True && stream.Type != gjson.False && stream.Type != gjson.Null {
		return env{}, &llm.Error{Kind: llm.KindInvalidRequest, Param: "stream", Message: "stream must be a boolean"}
	}
	switch {
	case !msgs.Exists():
		return env{}, &llm.Error{Kind: llm.KindInvalidRequest, Param: content, Message: content + " is required"}
	case op == llm.OpChat && !msgs.IsArray():
		return env{}, &llm.Error{Kind: llm.KindInvalidRequest, Param: content, Message: content + " must be an array"}
	}
	includeUsage := opts.IsObject() && opts.Get("include_usage").Type == gjson.True
	return env{model: model.Str, stream: stream.Type == gjson.True, includeUsage: includeUsage, maxTokens: maxTokens}, nil
}
