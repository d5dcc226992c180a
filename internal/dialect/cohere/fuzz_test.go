package cohere

import (
	"testing"

	"github.com/tidegate/tidegate/internal/dialect/dialecttest"
)

func FuzzDecodeResponse(f *testing.F) {
	dialecttest.FuzzDecodeResponse(f, DecodeResponse,
		`{"message":{"tool_calls":[{"function":{"name":"f","arguments":"[1]"}}]}}`)
}

func FuzzStreamDecoder(f *testing.F) {
	dialecttest.FuzzStreamDecoder(f, ".sse", NewStreamDecoder,
		"data: {\"type\":\"tool-call-delta\"}\n\ndata: {\"type\":\"message-end\"}\n\n")
}

func FuzzEncodeRequest(f *testing.F) {
	dialecttest.FuzzEncodeRequest(f, "command-a-03-2025", EncodeRequest)
}
