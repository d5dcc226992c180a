package guard

import (
	"strings"
	"unicode/utf8"
)

// StreamRedactor redacts text that arrives in chunks (one content block of
// a streamed answer). It releases text as soon as no match can still
// cover it: everything but the last Holdback bytes, minus any match that
// touches the end (it may grow) or straddles the cut; with restore, a
// placeholder cut by a chunk boundary is held back too.
type StreamRedactor struct {
	sess    *Session
	pending string // received, not released
	ctx     string // the last released bytes (as received), left context
	scratch []Match
}

// NewStream starts redacting one stream of text in this session.
func (s *Session) NewStream() *StreamRedactor { return &StreamRedactor{sess: s} }

// Push adds a chunk and returns the text that can be released now.
func (r *StreamRedactor) Push(chunk string) (string, error) {
	r.pending += chunk
	return r.release(false)
}

// Flush releases everything held back (the block or stream ended).
func (r *StreamRedactor) Flush() (string, error) { return r.release(true) }

func (r *StreamRedactor) release(eof bool) (string, error) {
	sc := r.sess.sc
	if r.pending == "" || (!eof && len(r.pending) <= sc.Holdback()) {
		return "", nil // nothing can be released yet: do not scan
	}
	full := r.ctx + r.pending
	off := len(r.ctx)
	safe := len(full)
	if !eof {
		safe -= sc.Holdback()
	}
	ms := sc.Find(full, r.scratch[:0])
	r.scratch = ms
	if !eof {
		for _, m := range ms {
			if m.End == len(full) || (m.Start < safe && m.End > safe) {
				safe = min(safe, m.Start)
			}
		}
		if r.sess.Restoring() {
			// Do not cut a placeholder the model echoed.
			from := max(off, safe-r.sess.maxPH)
			if from < safe {
				if k := strings.LastIndexByte(full[from:safe], '['); k >= 0 && !strings.Contains(full[from+k:safe], "]") {
					safe = from + k
				}
			}
		}
		for safe > off && safe < len(full) && !utf8.RuneStart(full[safe]) {
			safe--
		}
	}
	if safe <= off {
		return "", nil
	}
	// Matches released now: those ending by safe; a match begun in the
	// context (already released) is redacted from off on.
	var out []Match
	for _, m := range ms {
		if m.End <= off || m.Start >= safe {
			continue
		}
		if m.Det.Action == ActionBlock {
			return "", &BlockedError{Detector: m.Det.Name, Class: m.Det.Class}
		}
		m.Start = max(m.Start, off)
		m.End = min(m.End, safe)
		out = append(out, m)
	}
	chunk := full[off:safe]
	for i := range out {
		out[i].Start -= off
		out[i].End -= off
	}
	text := chunk
	if len(out) > 0 {
		text = r.sess.apply(chunk, out)
	}
	text = r.sess.Restore(text)
	keep := max(0, safe-sc.Holdback())
	r.ctx = full[keep:safe]
	r.pending = full[safe:]
	return text, nil
}
