package guard

import (
	"fmt"
	"net/http"
	"strings"
	tmpl "text/template/parse"
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

// systemPrompt is a compiled managed system prompt.
//
// Templates use Go template syntax but are executed here, not by
// text/template: its executor looks methods up by name through reflection,
// which makes the linker keep every exported method of every type in the
// binary (about 12 MB). Only what a prompt needs is supported: text, the
// fields below, {{header "Name"}}, {{if}}/{{else}}/{{end}} on one of those
// (true when not empty), and comments. Anything else refuses to load.
type systemPrompt struct {
	render  func(c Caller) string
	replace bool
}

// emitter appends one compiled template node's output for a caller.
type emitter func(b *strings.Builder, c *Caller)

func compilePrompt(path, text, mode string) (*systemPrompt, error) {
	// The parser only checks that a called function's name exists.
	trees, err := tmpl.Parse(path, text, "", "", map[string]any{"header": true})
	if err != nil {
		return nil, fmt.Errorf("invalid template: %w", err)
	}
	if len(trees) != 1 {
		return nil, fmt.Errorf("invalid template: {{define}} and {{block}} are not supported")
	}
	body, err := compileList(trees[path].Root)
	if err != nil {
		return nil, fmt.Errorf("invalid template: %w", err)
	}
	render := func(c Caller) string {
		var b strings.Builder
		body(&b, &c)
		return b.String()
	}
	return &systemPrompt{render: render, replace: mode == "replace"}, nil
}

func compileList(list *tmpl.ListNode) (emitter, error) {
	if list == nil {
		return func(*strings.Builder, *Caller) {}, nil
	}
	parts := make([]emitter, 0, len(list.Nodes))
	for _, n := range list.Nodes {
		e, err := compileNode(n)
		if err != nil {
			return nil, err
		}
		if e != nil {
			parts = append(parts, e)
		}
	}
	return func(b *strings.Builder, c *Caller) {
		for _, e := range parts {
			e(b, c)
		}
	}, nil
}

func compileNode(n tmpl.Node) (emitter, error) {
	switch n := n.(type) {
	case *tmpl.TextNode:
		text := string(n.Text)
		return func(b *strings.Builder, _ *Caller) { b.WriteString(text) }, nil
	case *tmpl.CommentNode:
		return nil, nil
	case *tmpl.ActionNode:
		value, err := compileValue(n.Pipe)
		if err != nil {
			return nil, err
		}
		return func(b *strings.Builder, c *Caller) { b.WriteString(value(c)) }, nil
	case *tmpl.IfNode:
		cond, err := compileValue(n.Pipe)
		if err != nil {
			return nil, err
		}
		then, err := compileList(n.List)
		if err != nil {
			return nil, err
		}
		otherwise, err := compileList(n.ElseList)
		if err != nil {
			return nil, err
		}
		return func(b *strings.Builder, c *Caller) {
			if cond(c) != "" {
				then(b, c)
			} else {
				otherwise(b, c)
			}
		}, nil
	}
	return nil, fmt.Errorf("%s is not supported in a system prompt (text, fields, header and if/else are)", n)
}

// compileValue compiles a pipeline that is one field or one header call.
func compileValue(pipe *tmpl.PipeNode) (func(c *Caller) string, error) {
	if len(pipe.Decl) > 0 || len(pipe.Cmds) != 1 {
		return nil, fmt.Errorf("%s: only one field or header call per action is supported", pipe)
	}
	args := pipe.Cmds[0].Args
	switch a := args[0].(type) {
	case *tmpl.FieldNode:
		if len(args) == 1 {
			return compileField(a.Ident)
		}
	case *tmpl.IdentifierNode:
		if name, ok := args[len(args)-1].(*tmpl.StringNode); ok && a.Ident == "header" && len(args) == 2 {
			return func(c *Caller) string { return c.Header.Get(name.Text) }, nil
		}
		return nil, fmt.Errorf("%s: header takes one quoted header name", pipe)
	}
	return nil, fmt.Errorf("%s: only a field or header call is supported", pipe)
}

// compileField resolves .Date, .Time and .Key/.User/.Team .ID, .Name and
// .Metadata.<name> (empty when absent).
func compileField(path []string) (func(c *Caller) string, error) {
	switch path[0] {
	case "Date", "Time":
		if len(path) == 1 {
			layout := map[string]string{"Date": time.DateOnly, "Time": time.RFC3339}[path[0]]
			return func(c *Caller) string { return c.Now.UTC().Format(layout) }, nil
		}
	case "Key", "User", "Team":
		who := map[string]func(c *Caller) *Principal{
			"Key":  func(c *Caller) *Principal { return &c.Key },
			"User": func(c *Caller) *Principal { return &c.User },
			"Team": func(c *Caller) *Principal { return &c.Team },
		}[path[0]]
		switch {
		case len(path) == 2 && path[1] == "ID":
			return func(c *Caller) string { return who(c).ID }, nil
		case len(path) == 2 && path[1] == "Name":
			return func(c *Caller) string { return who(c).Name }, nil
		case len(path) == 3 && path[1] == "Metadata":
			key := path[2]
			return func(c *Caller) string { return who(c).Metadata[key] }, nil
		}
	}
	return nil, fmt.Errorf("can't evaluate field .%s (fields: .Key, .User and .Team with .ID, .Name, .Metadata.<name>; .Date; .Time)", strings.Join(path, "."))
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
