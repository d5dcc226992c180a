package anthropic

import (
	"strconv"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does, so the output is always valid JSON; the result never
// contains a raw newline, which SSE data lines rely on.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"':
				dst = append(dst, '\\', '"')
			case '\\':
				dst = append(dst, '\\', '\\')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendCompact appends the valid JSON text src without insignificant
// whitespace. src must be valid JSON (checked by the caller).
func appendCompact[T ~string | ~[]byte](dst []byte, src T) []byte {
	inStr, esc := false, false
	start := 0
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case ' ', '\t', '\n', '\r':
			dst = append(dst, src[start:i]...)
			start = i + 1
		}
	}
	return append(dst, src[start:]...)
}

// compactBytes returns a compact copy of the valid JSON text src.
func compactBytes(src string) []byte {
	return appendCompact(make([]byte, 0, len(src)), src)
}

// startsObject reports whether the first non-space byte of raw is '{'.
func startsObject[T ~string | ~[]byte](raw T) bool {
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case ' ', '\t', '\n', '\r':
			continue
		case '{':
			return true
		}
		return false
	}
	return false
}

// isObject reports whether raw is a valid JSON object.
func isObject(raw []byte) bool { return startsObject(raw) && gjson.ValidBytes(raw) }

// isObjectString reports whether raw is a valid JSON object.
func isObjectString(raw string) bool { return startsObject(raw) && gjson.Valid(raw) }

// appendObject appends raw compacted when it is a valid JSON object, and
// fallback otherwise.
func appendObject(dst, raw []byte, fallback string) []byte {
	if isObject(raw) {
		return appendCompact(dst, raw)
	}
	return append(dst, fallback...)
}

// appendObjectString is appendObject for a string.
func appendObjectString(dst []byte, raw, fallback string) []byte {
	if isObjectString(raw) {
		return appendCompact(dst, raw)
	}
	return append(dst, fallback...)
}

// appendKey appends `,"key":` (without the comma for the first key, when
// dst ends with '{').
func appendKey(dst []byte, key string) []byte {
	if n := len(dst); n > 0 && dst[n-1] != '{' && dst[n-1] != '[' {
		dst = append(dst, ',')
	}
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

func appendInt(dst []byte, n int) []byte { return strconv.AppendInt(dst, int64(n), 10) }

func appendFloat(dst []byte, f float64) []byte {
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}
