package anthropic

import "github.com/tidegate/tidegate/internal/jsonw"

// JSON writing conventions of this package, on top of internal/jsonw.

// compactBytes returns a compact copy of the valid JSON text src.
func compactBytes(src string) []byte {
	return jsonw.AppendCompact(make([]byte, 0, len(src)), src)
}

// appendKey appends `,"key":` (without the comma for the first key, when
// dst ends with '{').
func appendKey(dst []byte, key string) []byte {
	dst = appendComma(dst)
	dst = append(dst, '"')
	dst = append(dst, key...)
	return append(dst, '"', ':')
}

// appendComma appends a comma unless dst ends an opening bracket.
func appendComma(dst []byte) []byte {
	if n := len(dst); n > 0 && dst[n-1] != '{' && dst[n-1] != '[' {
		dst = append(dst, ',')
	}
	return dst
}
