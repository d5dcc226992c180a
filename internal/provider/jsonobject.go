package provider

import (
	"slices"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/jsonw"
)

// This file edits JSON objects member by member, keeping the bytes of
// every member it does not change, so that a preset's quirks cost a scan
// of the body instead of decoding and re-encoding it. The scanner only
// finds where values end; it does not unescape them (gjson's ForEach
// would, allocating for every string with an escape in it).

// member is one member of a JSON object, as written.
type member struct {
	name  string   // the key, unescaped
	key   string   // the key as written, quoted
	val   string   // the value as written
	items []string // when set, the value is the array of these elements
}

// object is a JSON object's members in order.
type object []member

// members appends the members of the JSON object text obj to dst; ok is
// false when obj is not a well-formed object.
func members(dst object, obj string) (_ object, ok bool) {
	i := skipSpace(obj, 0)
	if i == len(obj) || obj[i] != '{' {
		return dst, false
	}
	if i = skipSpace(obj, i+1); i < len(obj) && obj[i] == '}' {
		return dst, skipSpace(obj, i+1) == len(obj)
	}
	for i < len(obj) && obj[i] == '"' {
		keyEnd := valueEnd(obj, i)
		colon := skipSpace(obj, max(keyEnd, i))
		if keyEnd < 0 || colon == len(obj) || obj[colon] != ':' {
			return dst, false
		}
		start := skipSpace(obj, colon+1)
		end := valueEnd(obj, start)
		if end < 0 {
			return dst, false
		}
		key := obj[i:keyEnd]
		dst = append(dst, member{name: unquote(key), key: key, val: obj[start:end]})
		switch i = skipSpace(obj, end); {
		case i < len(obj) && obj[i] == ',':
			i = skipSpace(obj, i+1)
		case i < len(obj) && obj[i] == '}':
			return dst, skipSpace(obj, i+1) == len(obj)
		default:
			return dst, false
		}
	}
	return dst, false
}

// elements calls fn with each element of the JSON array text arr, in
// order, until fn returns false; it reports false when arr is not a
// well-formed array.
func elements(arr string, fn func(elem string) bool) bool {
	i := skipSpace(arr, 0)
	if i == len(arr) || arr[i] != '[' {
		return false
	}
	if i = skipSpace(arr, i+1); i < len(arr) && arr[i] == ']' {
		return skipSpace(arr, i+1) == len(arr)
	}
	for i < len(arr) {
		end := valueEnd(arr, i)
		if end < 0 {
			return false
		}
		if !fn(arr[i:end]) {
			return true
		}
		switch i = skipSpace(arr, end); {
		case i < len(arr) && arr[i] == ',':
			i = skipSpace(arr, i+1)
		case i < len(arr) && arr[i] == ']':
			return skipSpace(arr, i+1) == len(arr)
		default:
			return false
		}
	}
	return false
}

// valueEnd returns where the JSON value starting at s[i] ends, or -1 when
// it does not. Strings, objects and arrays are matched by their brackets
// and quotes; what lies between is checked by whoever reads it (the body
// was validated as JSON on the way in).
func valueEnd(s string, i int) int {
	if i >= len(s) {
		return -1
	}
	switch s[i] {
	case '"':
		return stringEnd(s, i+1)
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"': // strings are skipped whole, by IndexByte
				if j = stringEnd(s, j+1); j < 0 {
					return -1
				}
				j--
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(s) && !isDelimiter(s[j]) {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// stringEnd returns the index just past the quote that closes the string
// whose text starts at s[i], or -1.
func stringEnd(s string, i int) int {
	for {
		k := strings.IndexByte(s[i:], '"')
		if k < 0 {
			return -1
		}
		i += k
		escapes := 0
		for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
			escapes++
		}
		if escapes%2 == 0 {
			return i + 1
		}
		i++
	}
}

// isDelimiter reports whether c ends a number or literal.
func isDelimiter(c byte) bool {
	return c == ',' || c == ']' || c == '}' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// unquote returns the text of a JSON string.
func unquote(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s[1 : len(s)-1]
	}
	return gjson.Parse(s).Str
}

func quote(s string) string { return string(jsonw.AppendString(nil, s)) }

// lookup returns the value of the last member called name: a decoder
// keeps the last of duplicate keys.
func (o object) lookup(name string) (string, bool) {
	for i := len(o) - 1; i >= 0; i-- {
		if o[i].name == name {
			return o[i].val, true
		}
	}
	return "", false
}

// str returns the text of the string member called name ("" when it is
// missing or not a string).
func (o object) str(name string) string {
	v, _ := o.lookup(name)
	return gjson.Parse(v).Str
}

func (o object) has(name string) bool {
	_, ok := o.lookup(name)
	return ok
}

// remove drops every member called name; it reports whether there was one.
func (o *object) remove(name string) bool {
	n := len(*o)
	*o = slices.DeleteFunc(*o, func(m member) bool { return m.name == name })
	return len(*o) != n
}

// keepOnly drops the members whose names keep lacks; it reports whether
// there were any.
func (o *object) keepOnly(keep map[string]bool) bool {
	n := len(*o)
	*o = slices.DeleteFunc(*o, func(m member) bool { return !keep[m.name] })
	return len(*o) != n
}

// set gives the members called name the raw value val, or appends one.
func (o *object) set(name, val string) { o.setMember(member{name: name, val: val}) }

// setArray is set with the array of the elements items.
func (o *object) setArray(name string, items []string) {
	o.setMember(member{name: name, items: items})
}

func (o *object) setMember(m member) {
	found := false
	for i := range *o {
		if (*o)[i].name == m.name {
			(*o)[i].val, (*o)[i].items, found = m.val, m.items, true
		}
	}
	if !found {
		m.key = quote(m.name)
		*o = append(*o, m)
	}
}

// appendTo appends the object as JSON to b.
func (o object) appendTo(b []byte) []byte {
	b = append(b, '{')
	for i, m := range o {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, m.key...)
		b = append(b, ':')
		if m.items != nil {
			b = appendArray(b, m.items)
		} else {
			b = append(b, m.val...)
		}
	}
	return append(b, '}')
}

func appendArray(b []byte, items []string) []byte {
	b = append(b, '[')
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it...)
	}
	return append(b, ']')
}
