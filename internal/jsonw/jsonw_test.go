package jsonw

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestAppendString(t *testing.T) {
	for in, want := range map[string]string{
		"":                       `""`,
		"plain":                  `"plain"`,
		"a\"b\\c":                `"a\"b\\c"`,
		"\n\r\t":                 `"\n\r\t"`,
		"\x00\x01\x08\x0c\x1f":   `"\u0000\u0001\u0008\u000c\u001f"`,
		"\x7f<>&/":               "\"\x7f<>&/\"",
		"é✓😀":                    `"é✓😀"`,
		"\u2028\u2029":           `"\u2028\u2029"`,
		"\xff":                   `"\ufffd"`,
		"a\xc3":                  `"a\ufffd"`,            // truncated sequence
		"\xc0\xaf":               `"\ufffd\ufffd"`,       // overlong
		"\xed\xa0\x80":           `"\ufffd\ufffd\ufffd"`, // surrogate half
		"\xef\xbf\xbd":           "\"\ufffd\"",           // a real U+FFFD stays raw
		"x\xf0\x9f\x98y\u2028\n": `"x\ufffd\ufffd\ufffdy\u2028\n"`,
	} {
		if got := string(AppendString([]byte("prefix"), in)); got != "prefix"+want {
			t.Errorf("AppendString(%q) = %s, want %s", in, got, want)
		}
		if got := string(AppendEscaped(nil, in)); got != want[1:len(want)-1] {
			t.Errorf("AppendEscaped(%q) = %s", in, got)
		}
	}
}

func TestNumbers(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{string(AppendFloat(nil, 0.7)), "0.7"},
		{string(AppendFloat(nil, 1e21)), "1e+21"},
		{string(AppendFloat(nil, -2)), "-2"},
		{string(AppendFloat(nil, math.NaN())), "null"},
		{string(AppendFloat(nil, math.Inf(-1))), "null"},
		{string(AppendFloat32(nil, 0.1)), "0.1"},
		{string(AppendFloat32(nil, float32(math.Inf(1)))), "0"},
		{string(AppendInt(nil, -42)), "-42"},
		{string(AppendInt(nil, int64(math.MaxInt64))), "9223372036854775807"},
		{string(AppendInt(nil, int32(7))), "7"},
		{string(AppendBool(nil, true)), "true"},
		{string(AppendBool(nil, false)), "false"},
	} {
		if c.got != c.want {
			t.Errorf("got %s, want %s", c.got, c.want)
		}
	}
}

func TestCompactAndIsObject(t *testing.T) {
	in := " { \"a\" : [ 1 , \"x y\\\" \" ] ,\n\t\"b\":{} } "
	if got := string(AppendCompact([]byte("<"), in)); got != `<{"a":[1,"x y\" "],"b":{}}` {
		t.Errorf("AppendCompact(string) = %s", got)
	}
	if got := string(AppendCompact(nil, json.RawMessage(in))); got != `{"a":[1,"x y\" "],"b":{}}` {
		t.Errorf("AppendCompact(RawMessage) = %s", got)
	}
	for in, want := range map[string]bool{
		`{}`: true, " {\"a\":1}\n": true, `{"a":{"b":[]}}`: true,
		`[]`: false, `{`: false, ``: false, `  `: false, `"{}"`: false, `{} x`: false, `{"a":}`: false,
	} {
		if IsObjectString(in) != want || IsObject([]byte(in)) != want {
			t.Errorf("IsObject(%q) != %v", in, want)
		}
	}
}

// encodingJSON is encoding/json's rendering of s without HTML escaping,
// with its \b and \f written as \u0008 and \u000c, the form AppendString
// uses.
func encodingJSON(t *testing.T, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	in := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); i++ {
		if in[i] != '\\' {
			out = append(out, in[i])
			continue
		}
		i++ // every backslash in a JSON string starts an escape
		switch in[i] {
		case 'b':
			out = append(out, `\u0008`...)
		case 'f':
			out = append(out, `\u000c`...)
		default:
			out = append(out, '\\', in[i])
		}
	}
	return out
}

// AppendString writes what encoding/json writes, byte for byte (but for
// the spelling of \b and \f), for any string: invalid UTF-8 included.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c\n\r\t\b\f\x00\x1f\x7f", "<>&", "é✓😀", "\u2028\u2029",
		"\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xef\xbf\xbd", "\xf0\x9f\x98", "\\b\\f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendString(nil, s)
		if want := encodingJSON(t, s); !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q) = %s, encoding/json %s", s, got, want)
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s: %v", s, got, err)
		}
		if want := utf8Replaced(s); back != want {
			t.Fatalf("round trip of %q: %q, want %q", s, back, want)
		}
		if bytes.ContainsAny(got, "\n\r") {
			t.Fatalf("raw newline in %q", got)
		}
	})
}

// utf8Replaced is s with each byte of invalid UTF-8 replaced by U+FFFD
// (strings.ToValidUTF8 replaces each run of them once).
func utf8Replaced(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

// AppendCompact agrees with json.Compact on valid JSON, and IsObject with
// encoding/json on what an object is.
func FuzzAppendCompact(f *testing.F) {
	for _, s := range []string{`{}`, " { \"a\" : [ 1 , \"x y\\\" \" ] ,\n\t\"b\":{} } ", `[1, 2]`, `"a b"`, `{"a":"\u00e9 \\"}`, `{"a":1}x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		var want bytes.Buffer
		if err := json.Compact(&want, b); err != nil {
			t.Fatal(err)
		}
		if got := AppendCompact(nil, b); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("AppendCompact(%q) = %q, json.Compact %q", b, got, want.Bytes())
		}
		isObj := bytes.HasPrefix(want.Bytes(), []byte("{"))
		if IsObject(b) != isObj || IsObjectString(string(b)) != isObj {
			t.Fatalf("IsObject(%q) != %v", b, isObj)
		}
	})
}

func BenchmarkAppendString(b *testing.B) {
	s := strings.Repeat("Some text with \"quotes\", a newline\n, é and ✓. ", 20)
	buf := make([]byte, 0, 4*len(s))
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendString(buf[:0], s)
	}
}
