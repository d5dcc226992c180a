package guard

import (
	"strconv"
	"strings"
)

// BlockedError says a text contained something a profile blocks. It names
// the detector, never the text.
type BlockedError struct {
	Detector string // config name: email, aws_key, a custom pattern's name
	Class    Class
	Reason   string // for deny lists, word filters and limits
}

func (e *BlockedError) Error() string {
	if e.Reason != "" {
		return e.Reason
	}
	what := "personal data"
	switch e.Class {
	case ClassSecret:
		what = "a secret"
	case ClassCustom:
		what = "a blocked pattern"
	}
	return "contains " + what + " (" + e.Detector + ")"
}

// Session redacts the texts of one request and its response, so one value
// gets one placeholder throughout, and (with restore) puts the original
// values back into the response. Not safe for concurrent use.
type Session struct {
	sc *Scanner
	// record: remember the values behind placeholders (restore is on);
	// false for the output phase, whose new placeholders stay.
	record bool
	// ph maps label+"\x00"+value to its placeholder; orig is the reverse
	// (kept only with restore).
	ph     map[string]string
	orig   map[string]string
	counts map[string]int
	// longest placeholder issued, for the stream holdback on restore
	maxPH   int
	scratch []Match
	out     *Session // the output phase: same placeholders, other scanner
}

// NewSession starts a request's redaction state. With restore, Restore
// (and restoring streams) replace the placeholders by the original values.
func (s *Scanner) NewSession(restore bool) *Session {
	return &Session{sc: s, record: restore}
}

// with returns the output-phase session: it shares the placeholders (the
// same value keeps its placeholder) but uses sc and records nothing, so
// what it redacts in a response is never restored.
func (s *Session) with(sc *Scanner) *Session {
	if s.out == nil || s.out.sc != sc {
		if s.ph == nil {
			s.ph, s.counts = map[string]string{}, map[string]int{}
		}
		s.out = &Session{sc: sc, ph: s.ph, counts: s.counts, orig: s.orig, maxPH: s.maxPH}
	}
	s.out.maxPH = max(s.out.maxPH, s.maxPH)
	return s.out
}

// Redact returns text with every redact-match replaced by its placeholder
// and whether anything changed; a block-match returns a *BlockedError.
func (s *Session) Redact(text string) (string, bool, error) {
	if s.sc.Empty() {
		return text, false, nil
	}
	ms := s.sc.Find(text, s.scratch[:0])
	s.scratch = ms
	if len(ms) == 0 {
		return text, false, nil
	}
	for _, m := range ms {
		if m.Det.Action == ActionBlock {
			return "", false, &BlockedError{Detector: m.Det.Name, Class: m.Det.Class}
		}
	}
	return s.apply(text, ms), true, nil
}

// apply replaces the (redact) matches in text, which are sorted and
// disjoint.
func (s *Session) apply(text string, ms []Match) string {
	var b strings.Builder
	b.Grow(len(text))
	prev := 0
	for _, m := range ms {
		b.WriteString(text[prev:m.Start])
		b.WriteString(s.placeholder(m.Det.Label, text[m.Start:m.End]))
		prev = m.End
	}
	b.WriteString(text[prev:])
	return b.String()
}

func (s *Session) placeholder(label, value string) string {
	key := label + "\x00" + value
	if p, ok := s.ph[key]; ok {
		return p
	}
	if s.ph == nil {
		s.ph, s.counts = map[string]string{}, map[string]int{}
	}
	s.counts[label]++
	p := "[" + label + "_" + strconv.Itoa(s.counts[label]) + "]"
	s.ph[key] = p
	if s.record {
		if s.orig == nil {
			s.orig = map[string]string{}
		}
		s.orig[p] = value
	}
	s.maxPH = max(s.maxPH, len(p))
	return p
}

// Restoring reports whether placeholders will be put back in the output.
func (s *Session) Restoring() bool { return len(s.orig) > 0 }

// Restore replaces the placeholders this session issued by the values they
// stand for (reversible masking). Without restore it returns text as is.
func (s *Session) Restore(text string) string {
	if !s.Restoring() || !strings.Contains(text, "[") {
		return text
	}
	var b strings.Builder
	prev := 0
	for i := 0; i < len(text); {
		j := strings.IndexByte(text[i:], '[')
		if j < 0 {
			break
		}
		i += j
		k := strings.IndexByte(text[i:min(len(text), i+s.maxPH)], ']')
		if k < 0 {
			i++
			continue
		}
		if v, ok := s.orig[text[i:i+k+1]]; ok {
			if b.Len() == 0 {
				b.Grow(len(text))
			}
			b.WriteString(text[prev:i])
			b.WriteString(v)
			prev = i + k + 1
			i = prev
			continue
		}
		i++
	}
	if prev == 0 {
		return text
	}
	b.WriteString(text[prev:])
	return b.String()
}
