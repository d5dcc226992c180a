package llm

import (
	"context"
	"io"
	"net/http"
)

// Forwarder is an optional Provider capability: relay a request of the
// OpenAI API that tidegate does not model (images, files, moderations,
// audio, …) to the upstream as it is, with the provider's credentials.
// Any upstream status is returned as a response, except an upstream
// 401/403 (the gateway's own key), which is an *Error like in Chat.
type Forwarder interface {
	Forward(ctx context.Context, req *ForwardRequest) (*http.Response, error)
}

// ForwardRequest is a request to relay.
type ForwardRequest struct {
	Method   string
	Path     string // below the provider's base URL, e.g. "/images/generations"
	RawQuery string
	// Header holds the caller's headers that may go upstream (content
	// type, accept, idempotency…); never the caller's credentials.
	Header        http.Header
	Body          io.Reader // nil for none
	ContentLength int64     // -1: unknown (streamed)
}
