package gemini

import (
	"testing"

	"github.com/tidegate/tidegate/internal/dialect/dialecttest"
)

func FuzzDecodeResponse(f *testing.F) {
	dialecttest.FuzzDecodeResponse(f, DecodeResponse,
		`{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":[1]}}]}}]}`,
		`{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}`)
}

func FuzzStreamDecoder(f *testing.F) {
	dialecttest.FuzzStreamDecoder(f, ".sse", NewStreamDecoder,
		"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\",\"thought\":true},{\"text\":\"b\"}]},\"finishReason\":\"STOP\"}]}\n\n",
		"data: {\"error\":{\"message\":\"x\"}}\n\n")
}

func FuzzEncodeRequest(f *testing.F) {
	dialecttest.FuzzEncodeRequest(f, "gemini-2.5-flash", EncodeRequest)
}
