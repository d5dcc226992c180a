package openai

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/tidegate/tidegate/internal/jsonw"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidwall/gjson"
)

// errorType is the OpenAI error.type for a Kind. OpenAI's own values where
// it has them (invalid_request_error, rate_limit_error, insufficient_quota,
// server_error, service_unavailable_error); the SDKs dispatch on the HTTP
// status, so the rest follow the same naming.
func errorType(k llm.Kind) string {
	switch k {
	case llm.KindInvalidRequest, llm.KindTooLarge:
		return "invalid_request_error"
	case llm.KindAuthentication:
		return "authentication_error"
	case llm.KindPermission:
		return "permission_error"
	case llm.KindNotFound:
		return "not_found_error"
	case llm.KindRateLimit:
		return "rate_limit_error"
	case llm.KindBudget:
		return "insufficient_quota"
	case llm.KindOverloaded:
		return "service_unavailable_error"
	case llm.KindTimeout:
		return "timeout_error"
	default: // upstream, internal
		return "server_error"
	}
}

// errorCode is err.Code, or OpenAI's code for quota and rate-limit errors.
func errorCode(err *llm.Error) string {
	if err.Code != "" {
		return err.Code
	}
	switch err.Kind {
	case llm.KindBudget:
		return "insufficient_quota"
	case llm.KindRateLimit:
		return "rate_limit_exceeded"
	}
	return ""
}

func errorMessage(err *llm.Error) string {
	if err.Message != "" {
		return err.Message
	}
	if t := http.StatusText(err.HTTPStatus()); t != "" {
		return t
	}
	return err.Kind.String()
}

// EncodeError renders err as an OpenAI error body
// {"error":{"message","type","param","code"}}; param and code are null when
// unknown. An upstream OpenAI error body (BodyDialect openai) is returned
// unchanged.
func EncodeError(err *llm.Error) []byte {
	if err.BodyDialect == Dialect && len(err.Body) > 0 {
		return err.Body
	}
	msg := errorMessage(err)
	b := make([]byte, 0, 96+len(msg)+len(err.Param))
	b = append(b, `{"error":{"message":`...)
	b = jsonw.AppendString(b, msg)
	b = append(b, `,"type":"`...)
	b = append(b, errorType(err.Kind)...)
	b = append(b, `","param":`...)
	b = appendStringOrNull(b, err.Param)
	b = append(b, `,"code":`...)
	b = appendStringOrNull(b, errorCode(err))
	return append(b, "}}"...)
}

// appendStringOrNull appends s, or null when s is empty.
func appendStringOrNull(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "null"...)
	}
	return jsonw.AppendString(dst, s)
}

// DecodeError turns an upstream error response into an *llm.Error: kind
// from the status, message/type/param/code from OpenAI's error object (or
// the {"object":"error","message":…} shape of some compat servers), Body
// kept for a same-dialect relay when it is an OpenAI error body.
// RetryAfter is left to the caller, which has the headers.
func DecodeError(status int, body []byte) *llm.Error {
	var e *llm.Error
	if gjson.ValidBytes(body) {
		root := gjson.ParseBytes(body)
		if ev := root.Get("error"); ev.Exists() && ev.Type != gjson.Null {
			e = errorFromBody(status, ev, root)
			if ev.IsObject() {
				e.Body, e.BodyDialect = body, Dialect
			}
		} else if m := root.Get("message"); m.Type == gjson.String {
			e = errorFromBody(status, root, root)
		}
	}
	if e == nil {
		e = &llm.Error{Kind: llm.KindForStatus(status), Status: status}
	}
	if e.Message == "" {
		e.Message = "upstream returned HTTP " + strconv.Itoa(status)
		if t := http.StatusText(status); t != "" {
			e.Message += " " + t
		}
	}
	return e
}

// errorFromBody builds an error from an OpenAI error value (an object with
// message/type/param/code, or a bare string). status 0 means in-stream: the
// kind is guessed from the type.
func errorFromBody(status int, ev, root gjson.Result) *llm.Error {
	e := &llm.Error{Status: status}
	var numCode int64
	if ev.Type == gjson.String {
		e.Message = ev.Str
	} else {
		ev.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "message":
				e.Message = v.String()
			case "type":
				e.UpstreamType = v.String()
			case "param":
				if v.Type == gjson.String {
					e.Param = v.Str
				}
			case "code":
				switch v.Type {
				case gjson.String:
					e.Code = v.Str
				case gjson.Number:
					numCode = v.Int()
				}
			}
			return true
		})
	}
	switch {
	case status != 0:
		e.Kind = llm.KindForStatus(status)
	case numCode >= 400 && numCode < 600:
		e.Kind = llm.KindForStatus(int(numCode))
	default:
		e.Kind = kindFromType(e.UpstreamType, e.Code)
	}
	if e.Message == "" {
		e.Message = "upstream error"
		if e.UpstreamType != "" {
			e.Message += ": " + e.UpstreamType
		}
	}
	return e
}

// kindFromType guesses a Kind from an error type/code when no HTTP status
// says it (errors inside a 200 stream).
func kindFromType(typ, code string) llm.Kind {
	s := typ + " " + code
	switch {
	case strings.Contains(s, "invalid_request"), strings.Contains(s, "context_length"):
		return llm.KindInvalidRequest
	case strings.Contains(s, "authentication"), strings.Contains(s, "invalid_api_key"):
		return llm.KindAuthentication
	case strings.Contains(s, "permission"):
		return llm.KindPermission
	case strings.Contains(s, "not_found"):
		return llm.KindNotFound
	case strings.Contains(s, "rate_limit"), strings.Contains(s, "insufficient_quota"):
		return llm.KindRateLimit
	case strings.Contains(s, "overloaded"), strings.Contains(s, "unavailable"):
		return llm.KindOverloaded
	case strings.Contains(s, "timeout"):
		return llm.KindTimeout
	}
	return llm.KindUpstream
}

func errUpstreamJSON() *llm.Error {
	return &llm.Error{Kind: llm.KindUpstream, Message: "upstream returned an invalid JSON body"}
}
