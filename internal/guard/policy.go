package guard

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/llm"
)

// profile is one compiled `guardrails:` entry.
type profile struct {
	dets     []*Detector // enabled, actions set
	request  bool        // detectors apply to requests
	response bool        // … and to responses
	restore  bool
	deny     []rule
	allow    []*regexp.Regexp
	words    *regexp.Regexp
	limits   config.GuardLimits
	prompt   *systemPrompt
	schema   *config.GuardSchema
}

type rule struct {
	re   *regexp.Regexp
	path string // config path, named in the refusal
}

// injectionPatterns are the prompt-injection heuristics: the phrasings of
// the common instruction-override, role-play jailbreak and prompt-leak
// attacks. A heuristic, not a classifier: it catches the copy-pasted
// attacks and misses paraphrases.
var injectionPatterns = []string{
	`(?i)\b(ignore|disregard|forget|override)\b.{0,20}\b(all|any|the|your|previous|prior|above|earlier|preceding)\b.{0,20}\b(instructions?|prompts?|rules|directions|guidelines)\b`,
	`(?i)\byou are (now )?(DAN|in developer mode|jailbroken|unrestricted)\b`,
	`(?i)\b(reveal|print|show|repeat|output)\b.{0,20}\b(your|the)\b.{0,10}\b(system prompt|hidden instructions|initial instructions)\b`,
	`(?i)\bpretend (that )?you (have|are under) no (rules|restrictions|guidelines|filters)\b`,
	`(?i)\bdo anything now\b`,
	`(?i)</?\s*(system|im_start|im_end)\s*>|<\|im_(start|end)\|>`,
}

// compile builds one profile of `guardrails:`. Every invalid regular
// expression, detector name or template is reported with its path.
func compile(name string, g config.Guardrail, injection []*regexp.Regexp) (*profile, []string) {
	path := "guardrails." + name
	var errs []string
	bad := func(p, format string, args ...any) { errs = append(errs, p+": "+fmt.Sprintf(format, args...)) }
	p := &profile{restore: g.Restore, limits: g.Limits, request: len(g.ApplyTo) == 0, response: len(g.ApplyTo) == 0}
	for _, a := range g.ApplyTo {
		p.request = p.request || a == "request"
		p.response = p.response || a == "response"
	}
	pii, secrets := ActionRedact, ActionBlock
	if g.PII != "" {
		pii, _ = ParseAction(g.PII)
	}
	if g.Secrets != "" {
		secrets, _ = ParseAction(g.Secrets)
	}
	for det := range g.Detectors {
		if _, ok := NewBuiltin(det, ActionOff); !ok {
			bad(path+".detectors."+det, "unknown detector (%s)", strings.Join(BuiltinNames(), ", "))
		}
	}
	for _, b := range builtins {
		a := pii
		if b.Class == ClassSecret {
			a = secrets
		}
		if v, ok := g.Detectors[b.Name]; ok {
			if x, err := ParseAction(v); err == nil {
				a = x
			}
		}
		if a != ActionOff {
			d, _ := NewBuiltin(b.Name, a)
			p.dets = append(p.dets, d)
		}
	}
	for i, c := range g.Patterns {
		a := ActionRedact
		if c.Action == "block" {
			a = ActionBlock
		}
		d, err := NewCustom(c.Name, c.Regex, a, c.MaxLength)
		if err != nil {
			bad(fmt.Sprintf("%s.patterns[%d].regex", path, i), "%v", err)
			continue
		}
		p.dets = append(p.dets, d)
	}
	for i, expr := range g.Deny {
		rp := fmt.Sprintf("%s.deny[%d]", path, i)
		re, err := regexp.Compile(expr)
		if err != nil {
			bad(rp, "invalid regex: %v", err)
			continue
		}
		p.deny = append(p.deny, rule{re, rp})
	}
	for i, expr := range g.Allow {
		re, err := regexp.Compile(expr)
		if err != nil {
			bad(fmt.Sprintf("%s.allow[%d]", path, i), "invalid regex: %v", err)
			continue
		}
		p.allow = append(p.allow, re)
	}
	if len(g.Words) > 0 {
		quoted := make([]string, len(g.Words))
		for i, w := range g.Words {
			quoted[i] = regexp.QuoteMeta(strings.TrimSpace(w))
		}
		p.words = regexp.MustCompile(`(?i)\b(?:` + strings.Join(quoted, "|") + `)\b`)
	}
	if sp := g.SystemPrompt; sp != nil {
		pp := path + ".system_prompt.template"
		prompt, err := compilePrompt(pp, sp.Template, sp.Mode)
		if err != nil {
			bad(pp, "%v", err)
		} else {
			p.prompt = prompt
		}
	}
	p.schema = g.Schema
	if g.Injection == "block" {
		for _, re := range injection {
			p.deny = append(p.deny, rule{re, "prompt injection heuristics"})
		}
	}
	return p, errs
}

// Set is every compiled profile and where each is attached. Safe for
// concurrent use.
type Set struct {
	profiles map[string]*profile
	models   map[string][]string // models entry → profile names
	global   []string
	policies sync.Map    // joined profile names → *Policy
	schemas  schemaCache // compiled request schemas, shared by the policies
}

// New compiles cfg's guardrails. It returns nil (no guard anywhere, no
// cost) when no profile is attached to anything and none is defined.
func New(cfg *config.Config) (*Set, error) {
	if len(cfg.Guardrails) == 0 {
		return nil, nil
	}
	var injection []*regexp.Regexp
	for _, expr := range injectionPatterns {
		injection = append(injection, regexp.MustCompile(expr))
	}
	s := &Set{profiles: map[string]*profile{}, models: map[string][]string{}, global: cfg.GlobalGuardrails}
	var errs []string
	names := make([]string, 0, len(cfg.Guardrails))
	for name := range cfg.Guardrails {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p, e := compile(name, cfg.Guardrails[name], injection)
		errs = append(errs, e...)
		s.profiles[name] = p
	}
	for name, m := range cfg.Models {
		if len(m.Guardrails) > 0 {
			s.models[name] = m.Guardrails
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("invalid config:\n  %s", strings.Join(errs, "\n  "))
	}
	return s, nil
}

// Named returns the policy of the named profiles (inbound API guards).
func (s *Set) Named(names ...string) (*Policy, error) {
	if s == nil {
		return nil, fmt.Errorf("no guardrails are defined")
	}
	for _, n := range names {
		if _, ok := s.profiles[n]; !ok {
			return nil, fmt.Errorf("unknown guardrail profile %q", n)
		}
	}
	sorted := slices.Clone(names)
	sort.Strings(sorted)
	return s.combine(slices.Compact(sorted)), nil
}

// MetadataKey is the key, user or team metadata entry that attaches
// profiles to a caller: a comma-separated list of profile names.
const MetadataKey = "guardrails"

// Resolve returns the policy for a request to the models entry model by
// a caller whose key, user and team metadata are metas; nil when no
// profile applies. A metadata entry naming an unknown profile is an
// error: a guard that cannot be applied fails closed.
func (s *Set) Resolve(model string, metas ...map[string]string) (*Policy, error) {
	if s == nil {
		return nil, nil
	}
	names := append([]string(nil), s.global...)
	names = append(names, s.models[model]...)
	for _, m := range metas {
		v := m[MetadataKey]
		if v == "" {
			continue
		}
		for _, n := range strings.Split(v, ",") {
			if n = strings.TrimSpace(n); n != "" {
				if _, ok := s.profiles[n]; !ok {
					return nil, &llm.Error{Kind: llm.KindInternal, Message: "the caller's metadata names an unknown guardrail profile", Err: fmt.Errorf("unknown guardrail %q", n)}
				}
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	sort.Strings(names)
	names = slices.Compact(names)
	key := strings.Join(names, ",")
	if p, ok := s.policies.Load(key); ok {
		return p.(*Policy), nil
	}
	p := s.combine(names)
	s.policies.Store(key, p)
	return p, nil
}

// combine merges profiles: a detector takes its strictest action (block
// over redact), limits their smallest non-zero value, lists their union.
func (s *Set) combine(names []string) *Policy {
	p := &Policy{Name: strings.Join(names, "+"), schemas: &s.schemas}
	req, resp := map[string]*Detector{}, map[string]*Detector{}
	var reqOrder, respOrder []string
	merge := func(into map[string]*Detector, order *[]string, d *Detector) {
		if cur, ok := into[d.Name]; ok {
			if d.Action > cur.Action {
				into[d.Name] = d
			}
			return
		}
		into[d.Name] = d
		*order = append(*order, d.Name)
	}
	for _, n := range names {
		pr := s.profiles[n]
		for _, d := range pr.dets {
			if pr.request {
				merge(req, &reqOrder, d)
			}
			if pr.response {
				merge(resp, &respOrder, d)
			}
		}
		p.restore = p.restore || pr.restore
		if pr.prompt != nil {
			p.prompts = append(p.prompts, pr.prompt)
		}
		if pr.schema != nil {
			p.Schema = true
			p.SchemaRetry = p.SchemaRetry || pr.schema.Retry
		}
		p.deny = append(p.deny, pr.deny...)
		p.allow = append(p.allow, pr.allow...)
		if pr.words != nil {
			p.words = append(p.words, pr.words)
		}
		l := &p.limits
		l.Messages = minPositive(l.Messages, pr.limits.Messages)
		l.MessageChars = minPositive(l.MessageChars, pr.limits.MessageChars)
		l.Tokens = minPositive(l.Tokens, pr.limits.Tokens)
		l.MaxTokens = minPositive(l.MaxTokens, pr.limits.MaxTokens)
	}
	pick := func(m map[string]*Detector, order []string) *Scanner {
		dets := make([]*Detector, len(order))
		for i, n := range order {
			dets[i] = m[n]
		}
		return NewScanner(dets)
	}
	p.req, p.resp = pick(req, reqOrder), pick(resp, respOrder)
	return p
}

func minPositive(a, b int) int {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

// Policy is the effective guard of one request: the merged profiles.
type Policy struct {
	Name    string
	req     *Scanner
	resp    *Scanner
	restore bool
	deny    []rule
	allow   []*regexp.Regexp
	words   []*regexp.Regexp
	limits  config.GuardLimits
	prompts []*systemPrompt
	// Schema: validate answers against the schema the request asked for;
	// SchemaRetry: ask once more before answering 502.
	Schema, SchemaRetry bool
	schemas             *schemaCache
}

// NewSession starts the redaction state of one request.
func (p *Policy) NewSession() *Session { return p.req.NewSession(p.restore) }

// ChecksResponse reports whether responses need scanning (detectors on
// output, or placeholders to restore).
func (p *Policy) ChecksResponse(sess *Session) bool {
	return !p.resp.Empty() || sess.Restoring()
}

// RequestInfo is what the server already knows of a request.
type RequestInfo struct {
	MaxTokens       int
	EstimatedTokens int
	// Caller fills managed system prompts.
	Caller Caller
}

// Request checks a chat request body in the caller's dialect and returns
// it with the redactions applied (the same slice when nothing matched).
// A refusal is a *BlockedError.
func (p *Policy) Request(d llm.Dialect, body []byte, sess *Session, info RequestInfo) ([]byte, error) {
	l := p.limits
	if l.MaxTokens > 0 && info.MaxTokens > l.MaxTokens {
		return nil, &BlockedError{Reason: fmt.Sprintf("max_tokens %d exceeds the limit of %d", info.MaxTokens, l.MaxTokens)}
	}
	if l.Tokens > 0 && info.EstimatedTokens > l.Tokens {
		return nil, &BlockedError{Reason: fmt.Sprintf("the prompt (about %d tokens) exceeds the limit of %d tokens", info.EstimatedTokens, l.Tokens)}
	}
	if l.Messages > 0 {
		if n := int(gjson.GetBytes(body, "messages.#").Int()); n > l.Messages {
			return nil, &BlockedError{Reason: fmt.Sprintf("%d messages exceed the limit of %d", n, l.Messages)}
		}
	}
	body, err := p.check(RequestTexts(d, body, nil), body, sess)
	if err != nil {
		return nil, err
	}
	// Managed system prompts come last: they are the operator's text, not
	// the caller's, so they are neither filtered nor redacted.
	for i := len(p.prompts) - 1; i >= 0; i-- { // prepended last to first: they read in profile order
		sp := p.prompts[i]
		if body, err = applySystemPrompt(d, body, sp.render(info.Caller), sp.replace); err != nil {
			return nil, err
		}
	}
	return body, nil
}

// check runs the text rules (per-message size, deny, words, allow) and
// the redaction over texts of body, returning the rewritten body.
func (p *Policy) check(texts []Text, body []byte, sess *Session) ([]byte, error) {
	l := p.limits
	if l.MessageChars > 0 {
		chars := map[int]int{}
		for _, t := range texts {
			chars[t.Msg] += utf8.RuneCountInString(t.Value)
			if chars[t.Msg] > l.MessageChars {
				return nil, &BlockedError{Reason: fmt.Sprintf("a message exceeds the limit of %d characters", l.MessageChars)}
			}
		}
	}
	for _, t := range texts {
		if t.Role == "system" {
			continue // the operator's and the caller's own instructions
		}
		for _, r := range p.deny {
			if r.re.MatchString(t.Value) {
				return nil, &BlockedError{Reason: "matches a denied pattern (" + r.path + ")"}
			}
		}
		for _, w := range p.words {
			if w.MatchString(t.Value) {
				return nil, &BlockedError{Reason: "contains a blocked word"}
			}
		}
	}
	if len(p.allow) > 0 {
		if err := p.checkAllow(texts); err != nil {
			return nil, err
		}
	}
	var edits []Edit
	for _, t := range texts {
		out, changed, err := sess.Redact(t.Value)
		if err != nil {
			return nil, err
		}
		if changed {
			edits = append(edits, Edit{Text: t, Value: out})
		}
	}
	return Rewrite(body, edits), nil
}

// Body checks an arbitrary JSON body (an inbound API request, MCP tool
// arguments): every string in it is a user text. It returns the body with
// the redactions applied (the same slice when nothing matched).
func (p *Policy) Body(body []byte) ([]byte, error) {
	if !gjson.ValidBytes(body) {
		return body, nil // not JSON: the API's own validation answers
	}
	if depth(body) > maxDepth {
		// Its strings could not all be checked: fail closed.
		return nil, &BlockedError{Reason: fmt.Sprintf("the body is nested deeper than %d levels", maxDepth)}
	}
	return p.check(allStrings(gjson.ParseBytes(body), "user", 0, nil), body, p.NewSession())
}

// checkAllow requires each user message's text to match an allow pattern.
func (p *Policy) checkAllow(texts []Text) error {
	ok := map[int]bool{}
	for _, t := range texts {
		if t.Role != "user" || ok[t.Msg] {
			continue
		}
		for _, re := range p.allow {
			if re.MatchString(t.Value) {
				ok[t.Msg] = true
				break
			}
		}
	}
	for _, t := range texts {
		if t.Role == "user" && !ok[t.Msg] {
			return &BlockedError{Reason: "a user message matches no allowed pattern"}
		}
	}
	return nil
}

// ResponseBody redacts (and restores into) a whole response body in
// dialect d, returning the same slice when nothing changed.
func (p *Policy) ResponseBody(d llm.Dialect, body []byte, sess *Session) ([]byte, error) {
	var edits []Edit
	for _, t := range ResponseTexts(d, body, nil) {
		out, err := p.output(sess, t.Value)
		if err != nil {
			return nil, err
		}
		if out != t.Value {
			edits = append(edits, Edit{Text: t, Value: out})
		}
	}
	return Rewrite(body, edits), nil
}

// Response redacts a canonical response in place.
func (p *Policy) Response(resp *llm.Response, sess *Session) error {
	for i := range resp.Content {
		part := &resp.Content[i]
		var err error
		switch {
		case part.Type == llm.PartText:
			part.Text, err = p.output(sess, part.Text)
		case part.Type == llm.PartToolCall && part.ToolCall != nil:
			tc := *part.ToolCall
			tc.Arguments, err = p.output(sess, tc.Arguments)
			part.ToolCall = &tc
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// output redacts one text of model output with the response detectors,
// then puts back the request's placeholders.
func (p *Policy) output(sess *Session, text string) (string, error) {
	if !p.resp.Empty() {
		r := sess.with(p.resp)
		out, _, err := r.Redact(text)
		if err != nil {
			return "", err
		}
		text = out
	}
	return sess.Restore(text), nil
}

// AsBlocked reports whether err is a guard refusal.
func AsBlocked(err error) (*BlockedError, bool) {
	var b *BlockedError
	ok := errors.As(err, &b)
	return b, ok
}
