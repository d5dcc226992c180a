// Package oaierr words request errors as OpenAI does and reads typed JSON
// fields, for the two caller dialects that answer in OpenAI's shape (Chat
// Completions and Responses).
//
// Decoders build errors with a Param relative to the value they look at,
// and each level prefixes its own path on the way up, so no path is built
// unless there is an error. Messages name the param with Mark until Finish
// fills it in.
package oaierr

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/llm"
)

// Mark stands for the param's final path in a message until Finish.
const Mark = "\x00"

// TypeName names v's JSON type as OpenAI's messages do.
func TypeName(v gjson.Result) string {
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

// Type is a value of the wrong JSON type.
func Type(param, want string, got gjson.Result) *llm.Error {
	return &llm.Error{Kind: llm.KindInvalidRequest, Param: param, Code: "invalid_type",
		Message: "Invalid type for '" + Mark + "': expected " + want + ", but got " + TypeName(got) + " instead."}
}

// Missing is a required parameter that is absent.
func Missing(param string) *llm.Error {
	return &llm.Error{Kind: llm.KindInvalidRequest, Param: param, Code: "missing_required_parameter",
		Message: "Missing required parameter: '" + Mark + "'."}
}

// Value is a value of the right type that is not allowed.
func Value(param, msg string) *llm.Error {
	return &llm.Error{Kind: llm.KindInvalidRequest, Param: param, Code: "invalid_value",
		Message: "Invalid value for '" + Mark + "': " + msg}
}

// Unsupported is a valid value the gateway cannot honour.
func Unsupported(param, msg string) *llm.Error {
	return &llm.Error{Kind: llm.KindInvalidRequest, Param: param, Code: "unsupported_value", Message: msg}
}

// At renders an array element as a relative path: "[2]".
func At(i int) string { return "[" + strconv.Itoa(i) + "]" }

// Finish writes the final Param into the message; every exported decoder
// calls it on the error it returns.
func Finish(e *llm.Error) error {
	if e == nil {
		return nil
	}
	e.Message = strings.ReplaceAll(e.Message, Mark, e.Param)
	return e
}

// Typed field readers: null counts as absent (ok false, no error).

// String reads a string.
func String(param string, v gjson.Result) (string, bool, *llm.Error) {
	switch v.Type {
	case gjson.Null:
		return "", false, nil
	case gjson.String:
		return v.Str, true, nil
	}
	return "", false, Type(param, "a string", v)
}

// Float reads a number.
func Float(param string, v gjson.Result) (*float64, *llm.Error) {
	switch v.Type {
	case gjson.Null:
		return nil, nil
	case gjson.Number:
		f := v.Num
		return &f, nil
	}
	return nil, Type(param, "a number", v)
}

// Int reads an integer; 1.0 and 1e3 count when integral and within 2^53.
func Int(param string, v gjson.Result) (int64, bool, *llm.Error) {
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
	return 0, false, Type(param, "an integer", v)
}
