// Package jsonw appends JSON values to a byte slice. The dialect encoders
// build every body and stream frame tidegate writes by appending to one
// buffer with these helpers instead of going through encoding/json
// reflection; none of them allocates beyond growing dst.
package jsonw

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

const hexDigits = "0123456789abcdef"

// plain[c] reports whether byte c stands for itself in a JSON string: the
// ASCII characters but the control characters, '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// AppendString appends s as a quoted JSON string, escaped as by
// AppendEscaped.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = AppendEscaped(dst, s)
	return append(dst, '"')
}

// AppendEscaped appends the JSON-escaped body of s, without quotes: '"',
// '\\' and the control characters are escaped (\n, \r and \t by name, the
// others as \u00XX), and so are U+2028 and U+2029; each byte of invalid
// UTF-8 becomes \ufffd. That is encoding/json's output without its HTML
// escaping, except that encoding/json (since Go 1.22) writes \b and \f
// where this writes \u0008 and \u000c. The output is valid JSON for any s
// and never holds a raw newline, which SSE data lines rely on.
func AppendEscaped(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
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
	return append(dst, s[start:]...)
}

// AppendFloat appends f as a JSON number in its shortest form, or null for
// NaN and the infinities, which JSON cannot express.
func AppendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

// AppendFloat32 appends f in its shortest float32 form. NaN and the
// infinities become 0, so that a vector stays an array of numbers.
func AppendFloat32(dst []byte, f float32) []byte {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return append(dst, '0')
	}
	return strconv.AppendFloat(dst, float64(f), 'g', -1, 32)
}

// AppendInt appends n in decimal.
func AppendInt[T ~int | ~int8 | ~int16 | ~int32 | ~int64](dst []byte, n T) []byte {
	return strconv.AppendInt(dst, int64(n), 10)
}

// AppendBool appends true or false.
func AppendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}

// AppendCompact appends the JSON text src without its insignificant
// whitespace. src must be valid JSON (see IsObject); nothing else is
// changed, escapes included.
func AppendCompact[T ~string | ~[]byte](dst []byte, src T) []byte {
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

// IsObject reports whether raw is a valid JSON object (surrounding
// whitespace allowed).
func IsObject(raw []byte) bool { return startsObject(raw) && gjson.ValidBytes(raw) }

// IsObjectString is IsObject for a string.
func IsObjectString(raw string) bool { return startsObject(raw) && gjson.Valid(raw) }

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
