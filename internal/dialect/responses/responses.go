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

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/dialect/oaierr"
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

// --- request errors: worded like OpenAI's (internal/dialect/oaierr), with
// the Responses API's paths ("input[2].content") ---

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

// Typed readers: null counts as absent (ok false, no error).

func getBool(param string, v gjson.Result) (*bool, *llm.Error) {
	switch v.Type {
	case gjson.Null:
		return nil, nil
	case gjson.True, gjson.False:
		b := v.Type == gjson.True
		return &b, nil
	}
	return nil, oaierr.Type(param, "a boolean", v)
}

// requireString reads a required non-empty string.
func requireString(param string, v gjson.Result) (string, *llm.Error) {
	s, ok, err := oaierr.String(param, v)
	if err != nil {
		return "", err
	}
	if !ok || s == "" {
		return "", oaierr.Missing(param)
	}
	return s, nil
}
