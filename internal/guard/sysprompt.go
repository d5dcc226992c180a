package guard

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"text/template"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/tidegate/tidegate/internal/jsonw"
	"github.com/tidegate/tidegate/internal/llm"
)

// Principal is a key, user or team as a system prompt template sees it.
type Principal struct {
	ID       string
	Name     string
	Metadata map[string]string
}

// Caller is who sent a request, for managed system prompts.
type Caller struct {
	Key, User, Team Principal
	Header          http.Header
	Now             time.Time
}

// promptData is the template's dot.
type promptData struct {
	Key, User, Team Principal
	Date, Time      string
}

// systemPrompt is a compiled managed system prompt.
type systemPrompt struct {
	tmpl    *template.Template
	replace bool
}

func compilePrompt(path, text, mode string) (*systemPrompt, error) {
	// header is bound per execution (Clone + Funcs); this one only
	// declares it for parsing.
	t, err := template.New(path).Option("missingkey=zero").Funcs(template.FuncMap{"header": func(string) string { return "" }}).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("invalid template: %w", err)
	}
	return &systemPrompt{tmpl: t, replace: mode == "replace"}, nil
}

func (sp *systemPrompt) render(c Caller) (string, error) {
	t, err := sp.tmpl.Clone()
	if err != nil {
		return "", err
	}
	t.Funcs(template.FuncMap{"header": func(name string) string { return c.Header.Get(name) }})
	now := c.Now.UTC()
	var buf bytes.Buffer
	if err := t.Execute(&buf, promptData{Key: c.Key, User: c.User, Team: c.Team, Date: now.Format(time.DateOnly), Time: now.Format(time.RFC3339)}); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// applySystemPrompt puts text before the caller's system prompt, or in
// its place, in the caller's dialect.
func applySystemPrompt(d llm.Dialect, body []byte, text string, replace bool) ([]byte, error) {
	if d == llm.DialectAnthropic {
		sys := gjson.GetBytes(body, "system")
		switch {
		case replace || !sys.Exists() || sys.Type == gjson.Null:
			return sjson.SetBytes(body, "system", text)
		case sys.Type == gjson.String:
			if sys.Str == "" {
				return sjson.SetBytes(body, "system", text)
			}
			return sjson.SetBytes(body, "system", text+"\n\n"+sys.Str)
		case sys.IsArray():
			block := jsonw.AppendString([]byte(`{"type":"text","text":`), text)
			block = append(block, '}')
			return insertFirst(body, sys, block)
		}
		return nil, llm.Errorf(llm.KindInvalidRequest, "system must be a string or an array of text blocks")
	}
	msgs := gjson.GetBytes(body, "messages")
	if !msgs.IsArray() {
		return body, nil // legacy completions: no messages to add to
	}
	msg := jsonw.AppendString([]byte(`{"role":"system","content":`), text)
	msg = append(msg, '}')
	if !replace {
		return insertFirst(body, msgs, msg)
	}
	kept := append([]byte("["), msg...)
	msgs.ForEach(func(_, m gjson.Result) bool {
		if r := m.Get("role").String(); r != "system" && r != "developer" {
			kept = append(kept, ',')
			kept = append(kept, m.Raw...)
		}
		return true
	})
	kept = append(kept, ']')
	return sjson.SetRawBytes(body, "messages", kept)
}

// insertFirst puts raw as the first element of the array arr of body.
func insertFirst(body []byte, arr gjson.Result, raw []byte) ([]byte, error) {
	if arr.Index <= 0 || arr.Index >= len(body) || body[arr.Index] != '[' {
		return nil, llm.Errorf(llm.KindInternal, "cannot locate the array to insert the system prompt into")
	}
	at := arr.Index + 1
	out := make([]byte, 0, len(body)+len(raw)+1)
	out = append(out, body[:at]...)
	out = append(out, raw...)
	if strings.TrimSpace(arr.Raw[1:len(arr.Raw)-1]) != "" {
		out = append(out, ',')
	}
	return append(out, body[at:]...), nil
}
