// Package responses converts between OpenAI's Responses API
// (POST /v1/responses) and tidegate's canonical types in internal/llm.
//
// It is a caller-side dialect only: requests are decoded to the canonical
// model and translated for any provider, and the canonical answer is
// encoded back as a Response object or as the Responses stream's typed
// events (response.created … response.completed). See ../CONTRACT.md.
//
// Tool names: a namespace tool's nested functions are offered to the
// model as flat functions named "<namespace>__<name>" and mapped back to
// {namespace, name} in the output (Tools holds the mapping); custom
// (freeform) tools become functions with one string argument "input".
// Hosted tools (web_search, file_search, code_interpreter, …) cannot run
// behind a translated model and are dropped from the request.
package responses

import (
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/dialect/openai"
	"github.com/tidegate/tidegate/internal/llm"
)

// Dialect is the dialect this package speaks.
const Dialect = llm.DialectResponses

// EncodeError renders err as an error body: the Responses API's errors
// have OpenAI's shape, so the OpenAI encoder renders them.
func EncodeError(err *llm.Error) []byte { return openai.EncodeError(err) }

// Prefixes of the encrypted_content of reasoning items the gateway
// produced: an Anthropic thinking signature or redacted-thinking data,
// returned so that a replayed item can be replayed upstream. Any other
// encrypted_content (OpenAI's own) means nothing to a translated model and
// is dropped.
const (
	sigPrefix      = "tg-sig:"
	redactedPrefix = "tg-redacted:"
)

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// randomID returns prefix followed by 32 random lowercase alphanumerics, the
// shape of OpenAI's resp_/msg_/fc_/rs_ ids. Not a secret: math/rand.
func randomID(prefix string) string {
	b := make([]byte, len(prefix)+32)
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

// stopStatus maps a stop reason to a Response status and, when
// incomplete, the reason.
func stopStatus(r llm.StopReason) (status, incomplete string) {
	switch r {
	case llm.StopMaxTokens:
		return "incomplete", "max_output_tokens"
	case llm.StopContentFilter:
		return "incomplete", "content_filter"
	}
	return "completed", ""
}

// --- request errors, worded like OpenAI's ---
//
// Decoders build errors with a Param relative to the value they look at,
// and each level prefixes its own path on the way up (within), so no path
// is built unless there is an error. Messages name the param with mark
// until finish fills it in.

const mark = "\x00"

func typeName(v gjson.Result) string {
	switch v.Type {
	case gjson.Null:
		return "null"
	case gjson.True, gjson.False:
		return "a boolean"
	case gjson.Number:
		return "a number"
	case gjson.String:
		return "a string"
	}
	if v.IsArray() {
		return "an array"
	}
	return "an object"
}

func errType(param, want string, got gjson.Result) *llm.Error {
	return &llm.Error{Kind: llm.KindInvalidRequest, Param: param, Code: "invalid_type",
		Message: "Invalid type for '" + mark + "': expected " + want + ", but got " + typeName(got) + " instead."}
}

func errMissing(param string) *llm.Error {
	return &llm.Error{Kind: llm.KindInvalidRequest, Param: param, Code: "missing_required_parameter",
		Message: "Missing required parameter: '" + mark + "'."}
}

func errValue(param, msg string) *llm.Error {
	return &llm.Error{Kind: llm.KindInvalidRequest, Param: param, Code: "invalid_value",
		Message: "Invalid value for '" + mark + "': " + msg}
}

func errUnsupported(param, msg string) *llm.Error {
	return &llm.Error{Kind: llm.KindInvalidRequest, Param: param, Code: "unsupported_value", Message: msg}
}

// within makes e's Param relative to the enclosing value: name is a key
// ("content") or an index ("[2]").
func within(e *llm.Error, name string) *llm.Error {
	if e == nil {
		return nil
	}
	switch {
	case e.Param == "":
		e.Param = name
	case e.Param[0] == '[':
		e.Param = name + e.Param
	default:
		e.Param = name + "." + e.Param
	}
	return e
}

func at(i int) string { return "[" + strconv.Itoa(i) + "]" }

// finish writes the final Param into the message.
func finish(e *llm.Error) error {
	if e == nil {
		return nil
	}
	e.Message = strings.ReplaceAll(e.Message, mark, e.Param)
	return e
}

// Typed readers: null counts as absent (ok false, no error).

func getString(param string, v gjson.Result) (string, bool, *llm.Error) {
	switch v.Type {
	case gjson.Null:
		return "", false, nil
	case gjson.String:
		return v.Str, true, nil
	}
	return "", false, errType(param, "a string", v)
}

func getBool(param string, v gjson.Result) (*bool, *llm.Error) {
	switch v.Type {
	case gjson.Null:
		return nil, nil
	case gjson.True, gjson.False:
		b := v.Type == gjson.True
		return &b, nil
	}
	return nil, errType(param, "a boolean", v)
}

func getFloat(param string, v gjson.Result) (*float64, *llm.Error) {
	switch v.Type {
	case gjson.Null:
		return nil, nil
	case gjson.Number:
		f := v.Num
		return &f, nil
	}
	return nil, errType(param, "a number", v)
}

func getInt(param string, v gjson.Result) (int64, bool, *llm.Error) {
	switch v.Type {
	case gjson.Null:
		return 0, false, nil
	case gjson.Number:
		if n, err := strconv.ParseInt(v.Raw, 10, 64); err == nil {
			return n, true, nil
		}
		if f := v.Num; f == float64(int64(f)) && f > -1<<53 && f < 1<<53 {
			return int64(f), true, nil
		}
	}
	return 0, false, errType(param, "an integer", v)
}

// requireString reads a required non-empty string.
func requireString(param string, v gjson.Result) (string, *llm.Error) {
	s, ok, err := getString(param, v)
	if err != nil {
		return "", err
	}
	if !ok || s == "" {
		return "", errMissing(param)
	}
	return s, nil
}
