package llm

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

var errEOF = io.EOF

// Kind classifies an error; it decides the HTTP status and the error type
// shown in the caller's dialect.
type Kind uint8

const (
	KindInvalidRequest Kind = iota + 1
	KindAuthentication
	KindPermission
	KindNotFound
	KindTooLarge
	KindRateLimit
	KindBudget
	KindUpstream
	KindOverloaded
	KindTimeout
	KindInternal
)

var kindNames = [...]string{
	KindInvalidRequest: "invalid_request",
	KindAuthentication: "authentication",
	KindPermission:     "permission",
	KindNotFound:       "not_found",
	KindTooLarge:       "request_too_large",
	KindRateLimit:      "rate_limit",
	KindBudget:         "budget",
	KindUpstream:       "upstream",
	KindOverloaded:     "overloaded",
	KindTimeout:        "timeout",
	KindInternal:       "internal",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "unknown"
}

// Status is the HTTP status a Kind maps to when no upstream status is known.
func (k Kind) Status() int {
	switch k {
	case KindInvalidRequest:
		return http.StatusBadRequest
	case KindAuthentication:
		return http.StatusUnauthorized
	case KindPermission:
		return http.StatusForbidden
	case KindNotFound:
		return http.StatusNotFound
	case KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case KindRateLimit, KindBudget:
		return http.StatusTooManyRequests
	case KindOverloaded:
		return http.StatusServiceUnavailable
	case KindTimeout:
		return http.StatusGatewayTimeout
	case KindInternal:
		return http.StatusInternalServerError
	default:
		return http.StatusBadGateway
	}
}

// Error is tidegate's error value. Every failure that reaches a caller is
// one, rendered in the caller's dialect by the server.
type Error struct {
	Kind    Kind
	Status  int    // HTTP status to answer with; Kind.Status() when 0
	Message string // safe to show the caller
	Param   string // offending parameter, when known
	Code    string // machine-readable code, when known
	// UpstreamType is the upstream's own error type string, if any.
	UpstreamType string
	// UpstreamStatus is the HTTP status the upstream answered with (0 when
	// the failure was not an HTTP answer). Status may differ: an upstream
	// 5xx is a 502 for the caller, but the router retries on the original.
	UpstreamStatus int
	RetryAfter     time.Duration
	// Body is the upstream's error body, relayed unchanged to a caller of
	// the same BodyDialect (same-dialect passthrough).
	Body        []byte
	BodyDialect Dialect
	Err         error // cause, for logs; never shown to callers
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Kind, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus is the status to answer with.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	return e.Kind.Status()
}

// Errorf builds an Error of kind k.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// AsError returns err as an *Error, wrapping unknown errors as internal.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: KindInternal, Message: "internal error", Err: err}
}

// KindForStatus maps an upstream HTTP status to a Kind.
func KindForStatus(status int) Kind {
	switch {
	case status == http.StatusUnauthorized:
		return KindAuthentication
	case status == http.StatusForbidden:
		return KindPermission
	case status == http.StatusNotFound:
		return KindNotFound
	case status == http.StatusRequestEntityTooLarge:
		return KindTooLarge
	case status == http.StatusTooManyRequests:
		return KindRateLimit
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout:
		return KindTimeout
	case status == http.StatusServiceUnavailable || status == 529:
		return KindOverloaded
	case status >= 400 && status < 500:
		return KindInvalidRequest
	default:
		return KindUpstream
	}
}
