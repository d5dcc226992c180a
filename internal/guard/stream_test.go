package guard

import (
	"errors"
	"strings"
	"testing"
)

var streamTexts = []string{
	"Contact jane.doe@example.com or +1 415 555 2671 about card 4111 1111 1111 1111.",
	"IBAN DE89 3704 0044 0532 0130 00 and SSN 123-45-6789 from 192.168.1.20 / 2001:db8::1",
	"token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U end",
	"ünïcödé 🙂 jane@example.com 🙂 end",
	"a@example.com",
}

// whole is the reference: the text redacted in one piece.
func whole(t *testing.T, sc *Scanner, text string) string {
	out, _, err := sc.NewSession(false).Redact(text)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStreamSplitAtEveryOffset(t *testing.T) {
	sc := all(t)
	for _, text := range streamTexts {
		want := whole(t, sc, text)
		for cut := 0; cut <= len(text); cut++ {
			r := sc.NewSession(false).NewStream()
			var got strings.Builder
			for _, chunk := range []string{text[:cut], text[cut:]} {
				out, err := r.Push(chunk)
				if err != nil {
					t.Fatal(err)
				}
				got.WriteString(out)
			}
			out, err := r.Flush()
			if err != nil {
				t.Fatal(err)
			}
			got.WriteString(out)
			if got.String() != want {
				t.Fatalf("cut at %d of %q:\n got  %q\n want %q", cut, text, got.String(), want)
			}
		}
	}
}

func TestStreamByteByByte(t *testing.T) {
	sc := all(t)
	for _, text := range streamTexts {
		r := sc.NewSession(false).NewStream()
		var got strings.Builder
		released := 0
		for i := 0; i < len(text); i++ {
			out, err := r.Push(text[i : i+1])
			if err != nil {
				t.Fatal(err)
			}
			got.WriteString(out)
			released += len(out)
		}
		out, _ := r.Flush()
		got.WriteString(out)
		if want := whole(t, sc, text); got.String() != want {
			t.Fatalf("%q:\n got  %q\n want %q", text, got.String(), want)
		}
	}
}

// TestStreamReleasesEarly checks the holdback is bounded: a long clean
// text is released while it streams, not at the end.
func TestStreamReleasesEarly(t *testing.T) {
	sc := all(t)
	r := sc.NewSession(false).NewStream()
	text := strings.Repeat("plain words without findings ", 100)
	out, _ := r.Push(text)
	if held := len(text) - len(out); held > sc.Holdback() {
		t.Fatalf("held back %d bytes, holdback is %d", held, sc.Holdback())
	}
}

func TestStreamBlockAcrossChunks(t *testing.T) {
	d, _ := NewBuiltin("aws_key", ActionBlock)
	sc := NewScanner([]*Detector{d})
	text := "here is AKIAIOSFODNN7EXAMPLE ok"
	for cut := 0; cut <= len(text); cut++ {
		r := sc.NewSession(false).NewStream()
		var released strings.Builder
		var err error
		for _, chunk := range []string{text[:cut], text[cut:]} {
			var out string
			if out, err = r.Push(chunk); err != nil {
				break
			}
			released.WriteString(out)
		}
		if err == nil {
			_, err = r.Flush()
		}
		var be *BlockedError
		if !errors.As(err, &be) {
			t.Fatalf("cut %d: not blocked: %v", cut, err)
		}
		if strings.Contains(released.String(), "AKIA") {
			t.Fatalf("cut %d: released part of the key: %q", cut, released.String())
		}
	}
}

func TestStreamRestoreAcrossChunks(t *testing.T) {
	sess := all(t).NewSession(true)
	if _, _, err := sess.Redact("my mail is jane@example.com"); err != nil {
		t.Fatal(err)
	}
	text := "Sure, I will write to [EMAIL_1] today."
	want := "Sure, I will write to jane@example.com today."
	for cut := 0; cut <= len(text); cut++ {
		r := sess.NewStream()
		a, _ := r.Push(text[:cut])
		b, _ := r.Push(text[cut:])
		c, _ := r.Flush()
		if got := a + b + c; got != want {
			t.Fatalf("cut %d: %q", cut, got)
		}
	}
}
