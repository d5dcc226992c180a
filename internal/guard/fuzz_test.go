package guard

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzRedact checks the redactor never panics, keeps valid UTF-8 valid,
// never lets a found value through, and that a stream cut anywhere gives
// the same output as the whole text.
func FuzzRedact(f *testing.F) {
	for _, tc := range golden {
		f.Add(tc.text, uint16(7))
	}
	for _, s := range streamTexts {
		f.Add(s, uint16(3))
	}
	f.Add("\xff\xfe@\x00::1 4111111111111111 [EMAIL_1]", uint16(1))
	sc := all(f)
	f.Fuzz(func(t *testing.T, text string, cut uint16) {
		sess := sc.NewSession(true)
		out, changed, err := sess.Redact(text)
		if err != nil {
			t.Fatal(err) // all() only redacts
		}
		if utf8.ValidString(text) && !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out of valid input: %q", out)
		}
		if !changed && out != text {
			t.Fatal("unchanged text differs")
		}
		for _, m := range sc.Find(text, nil) {
			v := text[m.Start:m.End]
			if len(v) > 8 && strings.Contains(out, v) && !strings.Contains(strings.ReplaceAll(text, v, ""), v) {
				t.Fatalf("found %q but it is still in the output", v)
			}
		}
		// Restore undoes the redaction of a text the session issued.
		if sess.Restore(out) != text && !strings.Contains(text, "[") {
			t.Fatalf("restore: %q -> %q -> %q", text, out, sess.Restore(out))
		}
		// Streamed in two pieces: same result as whole.
		c := int(cut) % (len(text) + 1)
		want, _, _ := sc.NewSession(false).Redact(text)
		r := sc.NewSession(false).NewStream()
		a, _ := r.Push(text[:c])
		b, _ := r.Push(text[c:])
		d, _ := r.Flush()

		if a+b+d != want {
			t.Fatalf("stream cut at %d: %q, whole: %q", c, a+b+d, want)
		}
		// Streamed in chunks of 1–13 bytes.
		size := int(cut)%13 + 1
		r = sc.NewSession(false).NewStream()
		var got strings.Builder
		for i := 0; i < len(text); i += size {
			out, _ := r.Push(text[i:min(i+size, len(text))])
			got.WriteString(out)
		}
		rest, _ := r.Flush()
		got.WriteString(rest)
		if got.String() != want {
			t.Fatalf("stream in %d-byte chunks: %q, whole: %q", size, got.String(), want)
		}
	})
}
