package gemini

import (
	"regexp"
	"testing"

	"github.com/tidegate/tidegate/internal/dialect/dialecttest"
)

// Random parts of synthesised IDs are replaced so golden files are stable.
var (
	reMessageID = regexp.MustCompile(`gemini-[0-9a-f]{24}`)
	reCallID    = regexp.MustCompile(`call_([0-9]+)_[0-9a-f]{8}`)
)

func normalizeIDs(b []byte) []byte {
	b = reMessageID.ReplaceAll(b, []byte("gemini-ID"))
	return reCallID.ReplaceAll(b, []byte("call_${1}_HEX"))
}

func TestEncodeRequestGolden(t *testing.T) { dialecttest.EncodeRequestGolden(t, EncodeRequest) }

func TestDecodeResponseGolden(t *testing.T) {
	dialecttest.DecodeResponseGolden(t, DecodeResponse, normalizeIDs)
}

func TestStreamDecoderGolden(t *testing.T) {
	dialecttest.StreamDecoderGolden(t, ".sse", NewStreamDecoder, normalizeIDs)
}
