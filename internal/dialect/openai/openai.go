// Package openai converts between the OpenAI wire formats (Chat
// Completions, legacy Completions, Embeddings, Models) and tidegate's
// canonical types in internal/llm.
//
// Caller side: tidegate serves the OpenAI API (Decode*Request, Encode*
// responses, StreamEncoder, EncodeError). Upstream side: tidegate calls an
// OpenAI-compatible server (Encode*Request, RewriteRequest, Decode*
// responses, NewStreamDecoder, DecodeError). See ../CONTRACT.md.
//
// Decoding uses gjson over the body (one pass over each object, precise
// Param paths in errors); encoding appends to a byte slice. The package has
// no mutable state.
package openai

import (
	"encoding/json"
	"github.com/tidegate/tidegate/internal/dialect/oaierr"
	"math/rand/v2"

	"github.com/tidegate/tidegate/internal/jsonw"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidwall/gjson"
)

// Dialect is the dialect this package speaks.
const Dialect = llm.DialectOpenAI

// stopReason maps an OpenAI finish_reason to the canonical StopReason.
// An empty string (null) maps to "".
func stopReason(finish string) llm.StopReason {
	switch finish {
	case "":
		return ""
	case "stop":
		return llm.StopEndTurn
	case "length":
		return llm.StopMaxTokens
	case "tool_calls", "function_call":
		return llm.StopToolUse
	case "content_filter":
		return llm.StopContentFilter
	default:
		// Compat servers invent their own ("eos", "abort"…); the turn ended.
		return llm.StopEndTurn
	}
}

// finishReason maps a canonical StopReason to OpenAI's finish_reason.
func finishReason(r llm.StopReason) string {
	switch r {
	case llm.StopMaxTokens:
		return "length"
	case llm.StopToolUse:
		return "tool_calls"
	case llm.StopContentFilter:
		return "content_filter"
	default: // end_turn, stop_sequence, pause_turn, unknown
		return "stop"
	}
}

// decodeUsage reads an OpenAI usage object. DeepSeek's
// prompt_cache_hit_tokens and the cache_creation_input_tokens some compat
// servers add are understood too.
func decodeUsage(u gjson.Result) llm.Usage {
	var out llm.Usage
	u.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "prompt_tokens":
			out.InputTokens = int(v.Int())
		case "completion_tokens":
			out.OutputTokens = int(v.Int())
		case "prompt_tokens_details":
			if c := v.Get("cached_tokens"); c.Exists() {
				out.CacheReadTokens = int(c.Int())
			}
		case "completion_tokens_details":
			if r := v.Get("reasoning_tokens"); r.Exists() {
				out.ReasoningTokens = int(r.Int())
			}
		case "cache_creation_input_tokens":
			out.CacheWriteTokens = int(v.Int())
		case "prompt_cache_hit_tokens":
			if out.CacheReadTokens == 0 {
				out.CacheReadTokens = int(v.Int())
			}
		}
		return true
	})
	return out
}

// appendUsage appends an OpenAI usage object.
func appendUsage(dst []byte, u llm.Usage) []byte {
	dst = append(dst, `{"prompt_tokens":`...)
	dst = jsonw.AppendInt(dst, u.InputTokens)
	dst = append(dst, `,"completion_tokens":`...)
	dst = jsonw.AppendInt(dst, u.OutputTokens)
	dst = append(dst, `,"total_tokens":`...)
	dst = jsonw.AppendInt(dst, u.Total())
	dst = append(dst, `,"prompt_tokens_details":{"cached_tokens":`...)
	dst = jsonw.AppendInt(dst, u.CacheReadTokens)
	dst = append(dst, `},"completion_tokens_details":{"reasoning_tokens":`...)
	dst = jsonw.AppendInt(dst, u.ReasoningTokens)
	dst = append(dst, '}')
	if u.CacheWriteTokens > 0 {
		dst = append(dst, `,"cache_creation_input_tokens":`...)
		dst = jsonw.AppendInt(dst, u.CacheWriteTokens)
	}
	return append(dst, '}')
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// newID returns prefix followed by 24 random alphanumerics, the shape of
// OpenAI's chatcmpl-/cmpl- ids. Not a secret, so math/rand is fine.
func newID(prefix string) string {
	b := make([]byte, len(prefix)+24)
	copy(b, prefix)
	for i := len(prefix); i < len(b); {
		r := rand.Uint64()
		for j := 0; j < 10 && i < len(b); j++ {
			b[i] = idAlphabet[r%uint64(len(idAlphabet))]
			r /= uint64(len(idAlphabet))
			i++
		}
	}
	return string(b)
}

// Request decoding errors are worded like OpenAI's own (internal/dialect/
// oaierr), with Chat Completions' paths ("messages.[2].content").

func errMalformed() *llm.Error {
	return &llm.Error{
		Kind:    llm.KindInvalidRequest,
		Message: "We could not parse the JSON body of your request. The body must be a JSON object.",
		Code:    "invalid_json",
	}
}

// idx renders an absolute array element path: "stop.[1]".
func idx(prefix string, i int) string { return prefix + "." + oaierr.At(i) }

// withPrefix makes e's Param relative to prefix.
func withPrefix(e *llm.Error, prefix string) *llm.Error {
	if e == nil {
		return nil
	}
	if e.Param == "" {
		e.Param = prefix
	} else {
		e.Param = prefix + "." + e.Param
	}
	return e
}

// parseBody validates body and returns its root object.
func parseBody(body []byte) (gjson.Result, *llm.Error) {
	if !gjson.ValidBytes(body) {
		return gjson.Result{}, errMalformed()
	}
	root := gjson.Parse(string(body))
	if !root.IsObject() {
		return gjson.Result{}, errMalformed()
	}
	return root, nil
}

// Typed field readers: null counts as absent (ok == false, no error).

func getBool(param string, v gjson.Result) (bool, bool, *llm.Error) {
	switch v.Type {
	case gjson.Null:
		return false, false, nil
	case gjson.True:
		return true, true, nil
	case gjson.False:
		return false, true, nil
	}
	return false, false, oaierr.Type(param, "a boolean", v)
}

// setBool sets *dst to the boolean v; null leaves *dst alone.
func setBool(dst **bool, param string, v gjson.Result) *llm.Error {
	b, ok, err := getBool(param, v)
	if ok {
		*dst = &b
	}
	return err
}

// setObject sets *dst to the raw object v; null leaves *dst alone.
func setObject(dst *json.RawMessage, param string, v gjson.Result) *llm.Error {
	switch {
	case v.Type == gjson.Null:
	case v.IsObject():
		*dst = json.RawMessage(v.Raw)
	default:
		return oaierr.Type(param, "an object", v)
	}
	return nil
}

// requireObject checks a required object: missing when absent or null.
func requireObject(param string, v gjson.Result) *llm.Error {
	switch {
	case v.IsObject():
		return nil
	case !v.Exists() || v.Type == gjson.Null:
		return oaierr.Missing(param)
	}
	return oaierr.Type(param, "an object", v)
}
