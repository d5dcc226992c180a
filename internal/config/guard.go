package config

import (
	"fmt"
	"strings"
)

// Guardrail is a named profile of `guardrails:`: what to find in the text
// models see and write, and what to do about it. Profiles are attached
// per model (models.X.guardrails), globally (global_guardrails) or per
// key, user or team (metadata "guardrails": "a,b").
type Guardrail struct {
	// PII is the action for every personal-data detector: redact
	// (default), block or off.
	PII string `yaml:"pii"`
	// Secrets is the action for every secret detector: block (default),
	// redact or off.
	Secrets string `yaml:"secrets"`
	// Detectors override the action of single built-in detectors by name
	// (email, phone, credit_card, ssn, iban, ip, aws_key, gcp_key,
	// github_token, slack_token, openai_key, anthropic_key, private_key,
	// jwt).
	Detectors map[string]string `yaml:"detectors"`
	// Patterns are custom named regular expressions (Go RE2 syntax).
	Patterns []GuardPattern `yaml:"patterns"`
	// Restore puts the original values back in the response for the
	// placeholders the request's redaction issued (reversible masking).
	Restore bool `yaml:"restore"`
	// ApplyTo limits the detectors to request or response; default both.
	ApplyTo []string `yaml:"apply_to"`
	// Deny blocks a request when any text matches one of these regexes;
	// Allow, when set, requires every user message to match one.
	Deny  []string `yaml:"deny"`
	Allow []string `yaml:"allow"`
	// Words blocks requests containing one of these words (whole words,
	// case-insensitive).
	Words []string `yaml:"words"`
	// Injection turns on the prompt-injection heuristics: block or off.
	Injection string `yaml:"injection"`
	// Limits cap a request's size; 0 means no limit.
	Limits GuardLimits `yaml:"limits"`
	// SystemPrompt is a managed system prompt added to every request.
	SystemPrompt *GuardSystemPrompt `yaml:"system_prompt"`
	// Schema validates answers against the JSON Schema the request asked
	// for (response_format json_schema, Anthropic output_format).
	Schema *GuardSchema `yaml:"schema"`
}

// GuardSystemPrompt is a template in Go template syntax rendered per
// request with .Key, .User and .Team ({ID, Name, Metadata}), .Date
// (YYYY-MM-DD, UTC), .Time (RFC 3339), {{header "Name"}} and if/else
// (docs/guardrails.md lists what is supported).
type GuardSystemPrompt struct {
	Template string `yaml:"template"`
	// Mode is prepend (default: before the caller's system prompt) or
	// replace (the caller's system prompts are dropped).
	Mode string `yaml:"mode"`
}

// GuardSchema turns on output validation.
type GuardSchema struct {
	// Retry asks the model once more when the answer does not validate;
	// otherwise (or if the retry fails too) the answer is a 502.
	Retry bool `yaml:"retry"`
}

// GuardPattern is a custom detector.
type GuardPattern struct {
	Name   string `yaml:"name"`
	Regex  string `yaml:"regex"`
	Action string `yaml:"action"` // redact (default) or block
	// MaxLength bounds a match, so a stream holds back only that much
	// (default 256).
	MaxLength int `yaml:"max_length"`
}

// GuardLimits cap a request.
type GuardLimits struct {
	Messages     int `yaml:"messages"`      // messages in the conversation
	MessageChars int `yaml:"message_chars"` // characters of text per message
	Tokens       int `yaml:"tokens"`        // estimated prompt tokens
	MaxTokens    int `yaml:"max_tokens"`    // the max_tokens a caller may ask for
}

var guardActions = map[string]bool{"": true, "redact": true, "block": true, "off": true}

// validateGuardrails checks profile names and their attachments. The
// regular expressions are compiled (and reported with their path) by
// internal/guard when the gateway is built, and by `tidegate lint`.
func (c *Config) validateGuardrails(add func(path, format string, args ...any)) {
	for _, name := range sortedKeys(c.Guardrails) {
		g := c.Guardrails[name]
		path := "guardrails." + name
		if !apiName.MatchString(name) {
			add(path, "a guardrail name is letters, digits, _, . and -")
		}
		for field, v := range map[string]string{"pii": g.PII, "secrets": g.Secrets} {
			if !guardActions[v] {
				add(path+"."+field, "unknown action %q (redact, block or off)", v)
			}
		}
		if g.Injection != "" && g.Injection != "block" && g.Injection != "off" {
			add(path+".injection", "unknown action %q (block or off)", g.Injection)
		}
		for det, v := range g.Detectors {
			if !guardActions[v] || v == "" {
				add(path+".detectors."+det, "unknown action %q (redact, block or off)", v)
			}
		}
		seen := map[string]bool{}
		for i, p := range g.Patterns {
			pp := fmt.Sprintf("%s.patterns[%d]", path, i)
			switch {
			case p.Name == "":
				add(pp+".name", "required")
			case !guardLabel(p.Name):
				add(pp+".name", "letters, digits and _ only (it becomes the placeholder [%s_1])", strings.ToUpper(p.Name))
			case seen[p.Name]:
				add(pp+".name", "duplicate pattern name %q", p.Name)
			}
			seen[p.Name] = true
			if p.Regex == "" {
				add(pp+".regex", "required")
			}
			if p.Action != "" && p.Action != "redact" && p.Action != "block" {
				add(pp+".action", "unknown action %q (redact or block)", p.Action)
			}
			if p.MaxLength < 0 {
				add(pp+".max_length", "must not be negative")
			}
		}
		for i, a := range g.ApplyTo {
			if a != "request" && a != "response" {
				add(fmt.Sprintf("%s.apply_to[%d]", path, i), "must be request or response")
			}
		}
		for i, w := range g.Words {
			if strings.TrimSpace(w) == "" {
				add(fmt.Sprintf("%s.words[%d]", path, i), "empty word")
			}
		}
		if sp := g.SystemPrompt; sp != nil {
			if strings.TrimSpace(sp.Template) == "" {
				add(path+".system_prompt.template", "required")
			}
			if sp.Mode != "" && sp.Mode != "prepend" && sp.Mode != "replace" {
				add(path+".system_prompt.mode", "unknown mode %q (prepend or replace)", sp.Mode)
			}
		}
		l := g.Limits
		if l.Messages < 0 || l.MessageChars < 0 || l.Tokens < 0 || l.MaxTokens < 0 {
			add(path+".limits", "limits must not be negative")
		}
	}
	check := func(path string, names []string) {
		for i, n := range names {
			if _, ok := c.Guardrails[n]; !ok {
				add(fmt.Sprintf("%s[%d]", path, i), "unknown guardrail profile %q", n)
			}
		}
	}
	check("global_guardrails", c.GlobalGuardrails)
	for _, name := range sortedKeys(c.Models) {
		check("models."+name+".guardrails", c.Models[name].Guardrails)
	}
}

func guardLabel(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}
