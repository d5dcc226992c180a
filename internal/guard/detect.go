// Package guard finds personal data, secrets and operator-defined patterns
// in text and redacts them with stable placeholders ([EMAIL_1]) or blocks
// the text. Built-in detectors are hand-written scanners behind cheap
// prefilters (a byte search for '@', one pass for digit runs, substring
// searches for secret prefixes): Go's regexp would cost ten times the
// budget on a 4 KB prompt. Custom patterns are regular expressions.
package guard

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"
)

// Action is what a detector's match causes.
type Action uint8

const (
	ActionOff Action = iota
	ActionRedact
	ActionBlock
)

// ParseAction reads redact, block or off.
func ParseAction(s string) (Action, error) {
	switch s {
	case "redact":
		return ActionRedact, nil
	case "block":
		return ActionBlock, nil
	case "off":
		return ActionOff, nil
	}
	return ActionOff, fmt.Errorf("unknown action %q (redact, block or off)", s)
}

func (a Action) String() string {
	switch a {
	case ActionRedact:
		return "redact"
	case ActionBlock:
		return "block"
	}
	return "off"
}

// Class groups the built-in detectors: a profile sets one action per class
// and may override single detectors.
type Class uint8

const (
	ClassPII Class = iota + 1
	ClassSecret
	ClassCustom
)

// Detector is one kind of finding.
type Detector struct {
	// Name is the config name (email, aws_key, or a custom pattern's name).
	Name string
	// Label is the placeholder stem: [EMAIL_1].
	Label  string
	Class  Class
	Action Action
	// MaxLen bounds a match's length (the stream scanner holds back this
	// much); detectors whose matches may be longer (private key blocks,
	// JWTs) report a match that touches the end of the text, and the
	// stream scanner holds such a match back until it is complete.
	MaxLen int

	kind builtin        // built-in scanner, or 0
	re   *regexp.Regexp // custom pattern
	lit  string         // custom pattern's literal prefix, a prefilter
}

type builtin uint8

const (
	bNone builtin = iota
	bEmail
	bPhone
	bCard
	bSSN
	bIBAN
	bIP
	bAWS
	bGCP
	bGitHub
	bSlack
	bOpenAI
	bAnthropic
	bPrivateKey
	bJWT
)

// builtinInfo describes a built-in detector.
type builtinInfo struct {
	Name  string
	Label string
	Class Class
	kind  builtin
	max   int
}

// builtins lists the built-in detectors in priority order (on overlap the
// earlier one wins).
var builtins = [...]builtinInfo{
	{"private_key", "PRIVATE_KEY", ClassSecret, bPrivateKey, 64},
	{"anthropic_key", "ANTHROPIC_KEY", ClassSecret, bAnthropic, 160},
	{"openai_key", "OPENAI_KEY", ClassSecret, bOpenAI, 200},
	{"aws_key", "AWS_KEY", ClassSecret, bAWS, 20},
	{"gcp_key", "GCP_KEY", ClassSecret, bGCP, 256},
	{"github_token", "GITHUB_TOKEN", ClassSecret, bGitHub, 100},
	{"slack_token", "SLACK_TOKEN", ClassSecret, bSlack, 160},
	{"jwt", "JWT", ClassSecret, bJWT, 64},
	{"credit_card", "CREDIT_CARD", ClassPII, bCard, 25},
	{"ssn", "SSN", ClassPII, bSSN, 11},
	{"iban", "IBAN", ClassPII, bIBAN, 42},
	{"email", "EMAIL", ClassPII, bEmail, 254},
	{"phone", "PHONE", ClassPII, bPhone, 24},
	{"ip", "IP_ADDRESS", ClassPII, bIP, 45},
}

// BuiltinNames lists the built-in detectors' config names.
func BuiltinNames() []string {
	out := make([]string, len(builtins))
	for i, b := range builtins {
		out[i] = b.Name
	}
	return out
}

// Match is one finding: text[Start:End] by Det.
type Match struct {
	Start, End int
	Det        *Detector
}

// Scanner finds matches of a fixed set of detectors. It is immutable and
// safe for concurrent use.
type Scanner struct {
	dets []*Detector
	// per built-in kind, the enabled detector (nil: off)
	by [bJWT + 1]*Detector
	// hold is the stream holdback: the longest bounded match + 1.
	hold    int
	digits  bool // some digit-run detector is on
	customs []*Detector
}

// NewScanner builds a scanner from detectors (built with Builtin or
// Custom). Detectors whose Action is off are skipped.
func NewScanner(dets []*Detector) *Scanner {
	s := &Scanner{hold: 1}
	for _, d := range dets {
		if d.Action == ActionOff {
			continue
		}
		s.dets = append(s.dets, d)
		if d.kind != bNone {
			s.by[d.kind] = d
		} else {
			s.customs = append(s.customs, d)
		}
		s.hold = max(s.hold, d.MaxLen+1)
	}
	s.digits = s.by[bCard] != nil || s.by[bSSN] != nil || s.by[bPhone] != nil || s.by[bIP] != nil || s.by[bIBAN] != nil
	return s
}

// Empty reports whether no detector is enabled.
func (s *Scanner) Empty() bool { return s == nil || len(s.dets) == 0 }

// Holdback is how many trailing bytes a stream must keep unreleased so a
// match cut by a chunk boundary is still found whole.
func (s *Scanner) Holdback() int { return s.hold }

// NewBuiltin returns the built-in detector called name with action a.
func NewBuiltin(name string, a Action) (*Detector, bool) {
	for _, b := range builtins {
		if b.Name == name {
			return &Detector{Name: b.Name, Label: b.Label, Class: b.Class, Action: a, MaxLen: b.max, kind: b.kind}, true
		}
	}
	return nil, false
}

// NewCustom compiles a custom pattern. label is upper-cased for the
// placeholder; maxLen bounds a match for streams (0: 256).
func NewCustom(name, pattern string, a Action, maxLen int) (*Detector, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("invalid regex: %w", err)
	}
	if maxLen <= 0 {
		maxLen = 256
	}
	lit, _ := re.LiteralPrefix()
	return &Detector{Name: name, Label: strings.ToUpper(name), Class: ClassCustom, Action: a, MaxLen: maxLen, re: re, lit: lit}, nil
}

// Find appends the matches in text to dst, sorted by position and without
// overlaps (on overlap the higher-priority detector, then the longer
// match, wins).
func (s *Scanner) Find(text string, dst []Match) []Match {
	if s.Empty() || text == "" {
		return dst
	}
	base := len(dst)
	if d := s.by[bPrivateKey]; d != nil {
		dst = findPrivateKeys(text, d, dst)
	}
	if s.by[bAnthropic] != nil || s.by[bOpenAI] != nil {
		dst = s.findSKKeys(text, dst)
	}
	if s.by[bAWS] != nil || s.by[bGCP] != nil {
		dst = findAWSAndGCP(text, s.by[bAWS], s.by[bGCP], dst)
	}
	if d := s.by[bGitHub]; d != nil {
		dst = findGitHub(text, d, dst)
	}
	if d := s.by[bSlack]; d != nil {
		dst = findSlack(text, d, dst)
	}
	if d := s.by[bJWT]; d != nil {
		dst = findJWT(text, d, dst)
	}
	if s.digits {
		dst = s.findDigitRuns(text, dst)
	}
	if d := s.by[bEmail]; d != nil {
		dst = findEmails(text, d, dst)
	}
	if d := s.by[bIP]; d != nil {
		dst = findIPv6(text, d, dst)
	}
	for _, d := range s.customs {
		if d.lit != "" && !strings.Contains(text, d.lit) {
			continue
		}
		for _, m := range d.re.FindAllStringIndex(text, -1) {
			if m[1] > m[0] {
				dst = append(dst, Match{m[0], m[1], d})
			}
		}
	}
	return resolve(dst, base)
}

// resolve sorts dst[base:] and drops overlapping matches.
func resolve(dst []Match, base int) []Match {
	ms := dst[base:]
	if len(ms) < 2 {
		return dst
	}
	sort.Slice(ms, func(i, j int) bool {
		a, b := ms[i], ms[j]
		if a.Start != b.Start {
			return a.Start < b.Start
		}
		if pa, pb := priority(a.Det), priority(b.Det); pa != pb {
			return pa < pb
		}
		return a.End > b.End
	})
	out := ms[:1]
	for _, m := range ms[1:] {
		last := &out[len(out)-1]
		if m.Start >= last.End {
			out = append(out, m)
			continue
		}
		// Overlap: keep the higher-priority match.
		if priority(m.Det) < priority(last.Det) {
			*last = m
		}
	}
	return dst[:base+len(out)]
}

// priority orders detectors: secrets, then custom patterns, then PII in
// table order.
func priority(d *Detector) int {
	if d.kind == bNone {
		return 100
	}
	if d.Class == ClassSecret {
		return int(d.kind)
	}
	return 200 + int(d.kind)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }
func isHex(c byte) bool   { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }

// isTokenByte is the alphabet of API keys and base64url.
func isTokenByte(c byte) bool { return isAlnum(c) || c == '_' || c == '-' }

// wordBefore reports whether text[i-1] continues a word (so a match may
// not start at i).
func wordBefore(text string, i int) bool { return i > 0 && isAlnum(text[i-1]) }

// wordAfter reports whether text[i] continues a word.
func wordAfter(text string, i int) bool { return i < len(text) && isAlnum(text[i]) }

// tokenRun returns the end of the run of token bytes from i.
func tokenRun(text string, i int) int {
	for i < len(text) && isTokenByte(text[i]) {
		i++
	}
	return i
}

// eachIndex calls f with every index of sub in text.
func eachIndex(text, sub string, f func(i int) int) {
	for off := 0; off < len(text); {
		j := strings.Index(text[off:], sub)
		if j < 0 {
			return
		}
		next := f(off + j)
		off = max(off+j+1, next)
	}
}

// Secrets.

func findPrivateKeys(text string, d *Detector, dst []Match) []Match {
	eachIndex(text, "-----BEGIN ", func(i int) int {
		j := i + len("-----BEGIN ")
		k := j
		for k < len(text) && k-j < 40 && (isUpper(text[k]) || text[k] == ' ') {
			k++
		}
		if !strings.HasSuffix(text[j:k], "PRIVATE KEY") || !strings.HasPrefix(text[k:], "-----") {
			return j
		}
		end := strings.Index(text[k+5:], "-----END ")
		if end < 0 {
			dst = append(dst, Match{i, len(text), d}) // unterminated: to the end
			return len(text)
		}
		e := k + 5 + end + len("-----END ")
		stop := strings.Index(text[e:], "-----")
		if stop < 0 || stop > 40 {
			dst = append(dst, Match{i, len(text), d})
			return len(text)
		}
		e += stop + 5
		dst = append(dst, Match{i, e, d})
		return e
	})
	return dst
}

// findSKKeys finds sk-ant-… (Anthropic) and sk-…/sk-proj-… (OpenAI) keys.
func (s *Scanner) findSKKeys(text string, dst []Match) []Match {
	ant, oai := s.by[bAnthropic], s.by[bOpenAI]
	eachIndex(text, "k-", func(k int) int {
		i := k - 1
		if i < 0 || text[i] != 's' || (i > 0 && isTokenByte(text[i-1])) {
			return k + 2
		}
		end := tokenRun(text, i+3)
		if strings.HasPrefix(text[i:], "sk-ant-") {
			if ant != nil && end-i-7 >= 20 {
				dst = append(dst, Match{i, end, ant})
			}
			return end
		}
		if oai != nil && end-i-3 >= 20 {
			dst = append(dst, Match{i, end, oai})
		}
		return end
	})
	return dst
}

// findAWSAndGCP makes one pass over the capital A's: AWS access key ids
// (AKIA, ASIA, ABIA, ACCA + 16) and Google API keys (AIza + 35); then
// Google OAuth access tokens (ya29.).
func findAWSAndGCP(text string, aws, gcp *Detector, dst []Match) []Match {
	eachIndex(text, "A", func(i int) int {
		if i+4 > len(text) || (i > 0 && isTokenByte(text[i-1])) {
			return i + 1
		}
		switch p := text[i : i+4]; {
		case aws != nil && (p == "AKIA" || p == "ASIA" || p == "ABIA" || p == "ACCA"):
			e := i + 20
			if e > len(text) || wordAfter(text, e) {
				return i + 4
			}
			for k := i + 4; k < e; k++ {
				if !isUpper(text[k]) && !isDigit(text[k]) {
					return k
				}
			}
			dst = append(dst, Match{i, e, aws})
			return e
		case gcp != nil && p == "AIza":
			end := tokenRun(text, i+4)
			if end-i == 39 {
				dst = append(dst, Match{i, end, gcp})
			}
			return end
		}
		return i + 1
	})
	if gcp != nil {
		eachIndex(text, "ya29.", func(i int) int {
			end := tokenRun(text, i+5)
			if end-i-5 >= 20 && !wordBefore(text, i) {
				dst = append(dst, Match{i, end, gcp})
			}
			return end
		})
	}
	return dst
}

// findGitHub finds classic tokens (ghp_ gho_ ghu_ ghs_ ghr_ + 36) and
// fine-grained ones (github_pat_).
func findGitHub(text string, d *Detector, dst []Match) []Match {
	// Anchor on the underscore, far rarer in prose than "gh".
	eachIndex(text, "_", func(u int) int {
		var i, min int
		switch {
		case u >= 3 && text[u-3:u-1] == "gh" && strings.IndexByte("pousr", text[u-1]) >= 0:
			i, min = u-3, 36
		case u >= 10 && text[u-10:u] == "github_pat":
			i, min = u-10, 22
		default:
			return u + 1
		}
		if i > 0 && isTokenByte(text[i-1]) {
			return u + 1
		}
		end := tokenRun(text, u+1)
		if end-u-1 >= min {
			dst = append(dst, Match{i, end, d})
		}
		return end
	})
	return dst
}

// findSlack finds xox[abposr]- tokens and incoming-webhook URLs.
func findSlack(text string, d *Detector, dst []Match) []Match {
	eachIndex(text, "xox", func(i int) int {
		if i+5 > len(text) || !strings.ContainsRune("abposre", rune(text[i+3])) || text[i+4] != '-' || wordBefore(text, i) {
			return i + 3
		}
		end := tokenRun(text, i+5)
		if end-i-5 >= 10 {
			dst = append(dst, Match{i, end, d})
		}
		return end
	})
	eachIndex(text, "//hooks.slack.com/services/", func(j int) int {
		i := j - len("https:")
		if i < 0 || text[i:j] != "https:" {
			return j + 2
		}
		e := i + len("https://hooks.slack.com/services/")
		for e < len(text) && (isAlnum(text[e]) || text[e] == '/') {
			e++
		}
		if e-i-33 >= 20 {
			dst = append(dst, Match{i, e, d})
		}
		return e
	})
	return dst
}

// findJWT finds eyJ….eyJ….sig (header and payload are base64url JSON
// objects, which always start with eyJ).
func findJWT(text string, d *Detector, dst []Match) []Match {
	eachIndex(text, "yJ", func(y int) int {
		i := y - 1
		if i < 0 || text[i] != 'e' || (i > 0 && isTokenByte(text[i-1])) {
			return y + 2
		}
		h := tokenRun(text, i+3)
		if h-i < 10 || h+4 > len(text) || text[h] != '.' || !strings.HasPrefix(text[h+1:], "eyJ") {
			return h
		}
		p := tokenRun(text, h+4)
		if p-h-1 < 10 || p >= len(text) || text[p] != '.' {
			return p
		}
		sig := tokenRun(text, p+1)
		if sig-p-1 < 10 {
			return sig
		}
		dst = append(dst, Match{i, sig, d})
		return sig
	})
	return dst
}

// PII.

// findEmails expands around each '@': a local part of [A-Za-z0-9._%+-]
// and a domain of dot-separated labels with an alphabetic TLD.
func findEmails(text string, d *Detector, dst []Match) []Match {
	last := 0 // matches never overlap: a local part starts after the previous match
	for off := 0; off < len(text); {
		j := strings.IndexByte(text[off:], '@')
		if j < 0 {
			break
		}
		at := off + j
		off = at + 1
		l := at
		for l > last && at-l < 64 && isLocalByte(text[l-1]) {
			l--
		}
		for l < at && text[l] == '.' {
			l++
		}
		if l == at || (l > 0 && isLocalByte(text[l-1]) && at-l >= 64) {
			continue
		}
		r, dots, label, tld := at+1, 0, 0, 0
		for r < len(text) && r-at <= 253 {
			c := text[r]
			if isAlnum(c) || c == '-' {
				if label == 0 && c == '-' {
					break
				}
				label++
				if isAlpha(c) {
					tld++
				} else {
					tld = -1000
				}
			} else if c == '.' && label > 0 && r+1 < len(text) && isAlnum(text[r+1]) {
				dots++
				label, tld = 0, 0
			} else {
				break
			}
			r++
		}
		if dots == 0 || tld < 2 || label == 0 {
			continue
		}
		dst = append(dst, Match{l, r, d})
		last, off = r, r
	}
	return dst
}

func isLocalByte(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

// findDigitRuns runs the digit-anchored detectors (cards, SSNs, IBANs,
// phone numbers, IPv4) at the start of every run of digits.
func (s *Scanner) findDigitRuns(text string, dst []Match) []Match {
	next := 0 // end of the last match: no new match starts inside it
	for i := 0; i < len(text); i++ {
		// Skip eight digit-free bytes at a time.
		for i+8 <= len(text) && !hasDigit(load8(text, i)) {
			i += 8
		}
		if i >= len(text) {
			break
		}
		c := text[i]
		if !isDigit(c) || (i > 0 && isDigit(text[i-1])) || i < next {
			continue
		}
		start, end, det := i, -1, (*Detector)(nil)
		if d := s.by[bIBAN]; d != nil && i >= 2 && isUpper(text[i-2]) && isUpper(text[i-1]) && !wordBefore(text, i-2) {
			if e := matchIBAN(text, i-2); e > 0 {
				start, end, det = i-2, e, d
			}
		}
		if det == nil && (wordBefore(text, i) || (i > 1 && isDigit(text[i-2]) && (text[i-1] == ' ' || text[i-1] == '-' || text[i-1] == '.'))) {
			continue // inside a word, or a later group of a number already tried
		}
		if det == nil {
			if d := s.by[bCard]; d != nil {
				if e := matchCard(text, i); e > 0 {
					end, det = e, d
				}
			}
		}
		if det == nil {
			if d := s.by[bSSN]; d != nil {
				if e := matchSSN(text, i); e > 0 {
					end, det = e, d
				}
			}
		}
		if det == nil {
			if d := s.by[bIP]; d != nil {
				if e := matchIPv4(text, i); e > 0 {
					end, det = e, d
				}
			}
		}
		if det == nil {
			if d := s.by[bPhone]; d != nil {
				p := i
				if i > 0 && (text[i-1] == '+' || text[i-1] == '(') && !(i > 1 && isAlnum(text[i-2])) {
					p = i - 1
				}
				if e := matchPhone(text, p); e > 0 {
					start, end, det = p, e, d
				}
			}
		}
		if det != nil {
			dst = append(dst, Match{start, end, det})
			next = end
			i = end - 1
		}
	}
	return dst
}

// hasDigit reports whether one of the eight bytes of x is an ASCII digit
// ("determine if a word has a byte between m and n", Bit Twiddling Hacks).
func hasDigit(x uint64) bool {
	const ones = 0x0101010101010101
	const low7, high = ones * 127, ones * 128
	return (ones*(127+'9'+1)-(x&low7))&^x&((x&low7)+ones*(127-('0'-1)))&high != 0
}

// load8 reads text[i:i+8] little-endian (the compiler makes it one load).
func load8(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// matchCard matches 13–19 digits in groups separated by single spaces or
// hyphens (one kind), with a card-network first digit and a valid Luhn
// checksum.
func matchCard(text string, i int) int {
	if text[i] < '2' || text[i] > '6' {
		return -1
	}
	var digits [19]byte
	n, sep, e := 0, byte(0), i
	for e < len(text) {
		c := text[e]
		if isDigit(c) {
			if n == 19 {
				return -1
			}
			digits[n] = c - '0'
			n++
			e++
			continue
		}
		if (c == ' ' || c == '-') && e+1 < len(text) && isDigit(text[e+1]) && (sep == 0 || sep == c) && n < 19 {
			sep = c
			e++
			continue
		}
		break
	}
	if n < 13 || wordAfter(text, e) || !luhn(digits[:n]) {
		return -1
	}
	return e
}

func luhn(d []byte) bool {
	sum := 0
	for k := 0; k < len(d); k++ {
		v := int(d[len(d)-1-k])
		if k%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

// matchSSN matches AAA-GG-SSSS with the SSA's never-issued ranges
// excluded (area 000, 666, 9xx; group 00; serial 0000).
func matchSSN(text string, i int) int {
	e := i + 11
	if e > len(text) || text[i+3] != '-' || text[i+6] != '-' {
		return -1
	}
	for _, k := range [...]int{0, 1, 2, 4, 5, 7, 8, 9, 10} {
		if !isDigit(text[i+k]) {
			return -1
		}
	}
	area, group, serial := text[i:i+3], text[i+4:i+6], text[i+7:i+11]
	if area == "000" || area == "666" || area[0] == '9' || group == "00" || serial == "0000" {
		return -1
	}
	if e < len(text) && (isAlnum(text[e]) || (text[e] == '-' && e+1 < len(text) && isDigit(text[e+1]))) {
		return -1
	}
	return e
}

// matchIBAN matches a country code, two check digits and 11–30
// alphanumerics, optionally in space-separated groups of four, whose
// ISO 7064 mod-97 checksum is 1.
func matchIBAN(text string, i int) int {
	if i+4 > len(text) || !isDigit(text[i+2]) || !isDigit(text[i+3]) {
		return -1
	}
	var buf [34]byte
	n, e := 0, i
	for e < len(text) && n < 34 {
		c := text[e]
		if isDigit(c) || isUpper(c) {
			buf[n] = c
			n++
			e++
			continue
		}
		if c == ' ' && n%4 == 0 && e+1 < len(text) && (isDigit(text[e+1]) || isUpper(text[e+1])) {
			e++
			continue
		}
		break
	}
	if n < 15 || wordAfter(text, e) {
		return -1
	}
	// Move the first four characters to the end; letters count A=10…Z=35.
	rem := 0
	for k := 0; k < n; k++ {
		c := buf[(k+4)%n]
		if isDigit(c) {
			rem = (rem*10 + int(c-'0')) % 97
		} else {
			rem = (rem*100 + int(c-'A'+10)) % 97
		}
	}
	if rem != 1 {
		return -1
	}
	return e
}

// matchIPv4 matches a dotted quad of octets 0–255 not embedded in a longer
// dotted number (version strings such as 1.2.3.4.5).
func matchIPv4(text string, i int) int {
	e := i
	for part := 0; part < 4; part++ {
		if part > 0 {
			if e >= len(text) || text[e] != '.' {
				return -1
			}
			e++
		}
		v, n := 0, 0
		for e < len(text) && isDigit(text[e]) && n < 4 {
			v = v*10 + int(text[e]-'0')
			n++
			e++
		}
		if n == 0 || n > 3 || v > 255 || (n > 1 && text[e-n] == '0') {
			return -1
		}
	}
	if i > 0 && text[i-1] == '.' {
		return -1
	}
	if wordAfter(text, e) || (e+1 < len(text) && text[e] == '.' && isDigit(text[e+1])) {
		return -1
	}
	return e
}

// matchPhone matches an international (+CC …, 8–15 digits) or a
// separated national number (10–15 digits with at least one space, dot,
// hyphen or parenthesis, as in (555) 123-4567). Bare digit runs are not
// phone numbers here: they are far more often ids and timestamps.
func matchPhone(text string, i int) int {
	plus := text[i] == '+'
	e, n, seps, open := i, 0, 0, false
	if plus {
		e++
	}
	lastDigit, group := -1, 0
	for e < len(text) {
		c := text[e]
		if !isDigit(c) {
			group = 0
		}
		switch {
		case isDigit(c):
			n++
			group++
			lastDigit = e
		case c == '(' && !open && n <= 4:
			open = true
			seps++
		case c == ')' && open:
			open = false
			seps++
		case (c == ' ' || c == '-' || c == '.') && e > i && (isDigit(text[e-1]) || text[e-1] == ')'):
			seps++
		default:
			goto done
		}
		if n > 15 {
			return -1
		}
		e++
	}
done:
	if lastDigit < 0 || open {
		return -1
	}
	if e = lastDigit + 1; e < len(text) && !isDigit(text[e]) {
		group = lastGroup(text, e)
	}
	if group < 3 {
		return -1
	}
	if wordAfter(text, e) || (e < len(text) && text[e] == '.' && e+1 < len(text) && isDigit(text[e+1])) {
		return -1
	}
	if plus && n >= 8 {
		return e
	}
	if !plus && n >= 10 && seps > 0 {
		return e
	}
	return -1
}

// lastGroup counts the digits before e.
func lastGroup(text string, e int) int {
	n := 0
	for e > 0 && isDigit(text[e-1]) {
		e--
		n++
	}
	return n
}

// findIPv6 parses the hex-and-colon token around each ':' as an address.
func findIPv6(text string, d *Detector, dst []Match) []Match {
	for off := 0; off < len(text); {
		j := strings.IndexByte(text[off:], ':')
		if j < 0 {
			break
		}
		c := off + j
		l := c
		for l > 0 && c-l < 45 && (isHex(text[l-1]) || text[l-1] == ':' || text[l-1] == '.') {
			l--
		}
		r := c
		for r < len(text) && r-l < 45 && (isHex(text[r]) || text[r] == ':' || text[r] == '.') {
			r++
		}
		off = r + 1
		for l < c && text[l] == '.' {
			l++
		}
		for r > c && text[r-1] == '.' {
			r--
		}
		if (l > 0 && isTokenByte(text[l-1])) || (r < len(text) && isTokenByte(text[r])) {
			continue
		}
		tok := text[l:r]
		if strings.Count(tok, ":") < 2 || hexDigits(tok) < 3 {
			continue
		}
		if a, err := netip.ParseAddr(tok); err == nil && a.Is6() {
			dst = append(dst, Match{l, r, d})
		}
	}
	return dst
}

func hexDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isHex(s[i]) {
			n++
		}
	}
	return n
}
