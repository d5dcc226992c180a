package anthropic

import (
	"net/http"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/jsonw"
	"github.com/tidegate/tidegate/internal/llm"
)

// EncodeError renders err as an Anthropic error body:
// {"type":"error","error":{"type":…,"message":…}}. The type follows the
// Kind: invalid_request_error, authentication_error, permission_error,
// not_found_error, request_too_large, rate_limit_error (also for budget
// refusals), overloaded_error, timeout_error, and api_error for upstream
// and internal failures. An Anthropic upstream's own error body is returned
// unchanged.
func EncodeError(err *llm.Error) []byte {
	if err == nil {
		err = &llm.Error{Kind: llm.KindInternal, Message: "internal error"}
	}
	if err.BodyDialect == llm.DialectAnthropic && len(err.Body) > 0 {
		return err.Body
	}
	return appendErrorBody(make([]byte, 0, 64+len(err.Message)), err)
}

func appendErrorBody(b []byte, err *llm.Error) []byte {
	b = append(b, `{"type":"error","error":{"type":"`...)
	b = append(b, errorType(err.Kind)...)
	b = append(b, `","message":`...)
	msg := err.Message
	if msg == "" {
		msg = http.StatusText(err.HTTPStatus())
	}
	b = jsonw.AppendString(b, msg)
	return append(b, '}', '}')
}

// DecodeError turns an upstream error answer into an *llm.Error: Kind from
// the HTTP status (from the error type when there is no error status),
// Message and UpstreamType from the body, and Body/BodyDialect set when the
// body is an Anthropic error object, for relay to Anthropic callers.
// RetryAfter is left to the caller, which has the headers.
func DecodeError(status int, body []byte) *llm.Error {
	e := &llm.Error{Kind: llm.KindUpstream}
	if status >= 400 {
		e.Kind, e.Status = llm.KindForStatus(status), status
	}
	if gjson.ValidBytes(body) {
		obj := gjson.GetBytes(body, "error")
		typ, msg := obj.Get("type"), obj.Get("message")
		if typ.Type == gjson.String {
			e.UpstreamType = typ.Str
			if status < 400 {
				e.Kind = kindForType(typ.Str)
			}
		}
		if msg.Type == gjson.String {
			e.Message = msg.Str
		}
		if obj.IsObject() && typ.Type == gjson.String {
			e.Body, e.BodyDialect = body, llm.DialectAnthropic
		}
	}
	if e.Message == "" {
		if status >= 400 {
			e.Message = "upstream returned HTTP " + strconv.Itoa(status)
		} else {
			e.Message = "upstream error"
		}
	}
	return e
}
