package server

import (
	"github.com/tidegate/tidegate/internal/dialect/anthropic"
	"github.com/tidegate/tidegate/internal/dialect/openai"
	"github.com/tidegate/tidegate/internal/dialect/responses"
	"github.com/tidegate/tidegate/internal/llm"
)

// streamEncoder renders canonical events in the caller's dialect.
type streamEncoder interface {
	Encode(dst []byte, ev llm.Event) []byte
	Finish(dst []byte) []byte
	Error(dst []byte, err *llm.Error) []byte
}

// caller is the dialect a route speaks to its clients.
type caller struct {
	dialect        llm.Dialect
	decode         func([]byte) (*llm.Request, error)
	envelope       func([]byte, llm.Operation) (env, *llm.Error)
	encodeResponse func(*llm.Request, *llm.Response) []byte
	newStream      func(*llm.Request) streamEncoder
	encodeError    func(*llm.Error) []byte
}

var openAIChat = &caller{
	dialect:        llm.DialectOpenAI,
	decode:         openai.DecodeChatRequest,
	envelope:       envelope,
	encodeResponse: func(_ *llm.Request, r *llm.Response) []byte { return openai.EncodeResponse(r) },
	newStream:      func(r *llm.Request) streamEncoder { return openai.NewStreamEncoder(r) },
	encodeError:    openai.EncodeError,
}

var openAICompletion = openAIChat.decoding(openai.DecodeCompletionRequest)

var anthropicMessages = &caller{
	dialect:        llm.DialectAnthropic,
	decode:         anthropic.DecodeMessagesRequest,
	envelope:       envelope,
	encodeResponse: func(_ *llm.Request, r *llm.Response) []byte { return anthropic.EncodeResponse(r) },
	newStream:      func(r *llm.Request) streamEncoder { return anthropic.NewStreamEncoder(r) },
	encodeError:    anthropic.EncodeError,
}

// openAIResponses serves POST /v1/responses; it is always translated.
var openAIResponses = &caller{
	dialect:        llm.DialectResponses,
	decode:         responses.DecodeRequest,
	envelope:       responsesEnvelope,
	encodeResponse: responses.EncodeResponse,
	newStream:      func(r *llm.Request) streamEncoder { return responses.NewStreamEncoder(r) },
	encodeError:    responses.EncodeError,
}

var anthropicCountTokens = anthropicMessages.decoding(anthropic.DecodeCountTokensRequest)

// decoding is the same dialect with another request decoder (legacy
// completions, count_tokens).
func (c *caller) decoding(decode func([]byte) (*llm.Request, error)) *caller {
	d := *c
	d.decode = decode
	return &d
}

// decodeInto adapts a dialect decoder to llm.NewLazyRequest.
func (c *caller) decodeInto(body []byte) func(*llm.Request) error {
	return func(r *llm.Request) error {
		full, err := c.decode(body)
		if err != nil {
			return err
		}
		*r = *full
		return nil
	}
}
