package guard

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/llm"
)

// Schemas are the JSON Schemas a request asked its answer to follow: the
// response format (OpenAI response_format json_schema, Anthropic
// output_format) and each tool's input schema.
type Schemas struct {
	output *jsonschema.Schema
	tools  map[string]*jsonschema.Schema
}

// noLoader refuses every $ref outside the schema: a caller's schema must
// never make the gateway read a file or fetch a URL.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external $ref %q is not allowed", url)
}

// RequestSchemas compiles the schemas of a request body in dialect d;
// nil when it asks for none. A schema that does not compile is a 400.
func RequestSchemas(d llm.Dialect, body []byte) (*Schemas, error) {
	var out *Schemas
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	n := 0
	compile := func(raw, what string) (*jsonschema.Schema, error) {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(raw))
		if err != nil {
			return nil, err
		}
		n++
		url := fmt.Sprintf("urn:tidegate:schema:%d", n)
		if err := c.AddResource(url, doc); err != nil {
			return nil, err
		}
		s, err := c.Compile(url)
		if err != nil {
			return nil, llm.Errorf(llm.KindInvalidRequest, "%s is not a valid JSON Schema: %v", what, err)
		}
		return s, nil
	}
	var schema gjson.Result
	if d == llm.DialectAnthropic {
		if f := gjson.GetBytes(body, "output_format"); f.Get("type").Str == "json_schema" {
			schema = f.Get("schema")
		}
	} else if f := gjson.GetBytes(body, "response_format"); f.Get("type").Str == "json_schema" {
		schema = f.Get("json_schema.schema")
	}
	if schema.IsObject() {
		s, err := compile(schema.Raw, "the response format's schema")
		if err != nil {
			return nil, err
		}
		out = &Schemas{output: s}
	}
	var err error
	gjson.GetBytes(body, "tools").ForEach(func(_, t gjson.Result) bool {
		name, params := t.Get("function.name").Str, t.Get("function.parameters")
		if d == llm.DialectAnthropic {
			name, params = t.Get("name").Str, t.Get("input_schema")
		}
		if name == "" || !params.IsObject() {
			return true
		}
		var s *jsonschema.Schema
		if s, err = compile(params.Raw, "the schema of tool "+name); err != nil {
			return false
		}
		if out == nil {
			out = &Schemas{}
		}
		if out.tools == nil {
			out.tools = map[string]*jsonschema.Schema{}
		}
		out.tools[name] = s
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Check validates an answer: its text against the response format and
// each tool call's arguments against its tool's schema. The error names
// where and which keyword failed, never the values.
func (s *Schemas) Check(text string, calls []llm.ToolCall) error {
	if s == nil {
		return nil
	}
	if s.output != nil && (text != "" || len(calls) == 0) {
		if err := validate(s.output, text); err != nil {
			return fmt.Errorf("the answer does not match the requested JSON schema: %w", err)
		}
	}
	for _, c := range calls {
		if sch := s.tools[c.Name]; sch != nil {
			if err := validate(sch, c.Arguments); err != nil {
				return fmt.Errorf("the arguments of tool %s do not match its input schema: %w", c.Name, err)
			}
		}
	}
	return nil
}

func validate(s *jsonschema.Schema, text string) error {
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		return errors.New("it is not valid JSON")
	}
	err = s.Validate(v)
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	var leaves []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			leaves = append(leaves, fmt.Sprintf("at /%s: %s", strings.Join(e.InstanceLocation, "/"), strings.Join(e.ErrorKind.KeywordPath(), "/")))
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	slices.Sort(leaves)
	leaves = slices.Compact(leaves)
	return errors.New(strings.Join(leaves, "; "))
}

// Validator is one compiled JSON Schema.
type Validator struct{ s *jsonschema.Schema }

// CompileSchema compiles a JSON Schema document (external $refs refused).
func CompileSchema(raw []byte) (*Validator, error) {
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
	if err != nil {
		return nil, err
	}
	if err := c.AddResource("urn:tidegate:schema", doc); err != nil {
		return nil, err
	}
	s, err := c.Compile("urn:tidegate:schema")
	if err != nil {
		return nil, err
	}
	return &Validator{s}, nil
}

// Check validates a JSON text; the error names where and which keyword
// failed, never the values.
func (v *Validator) Check(text string) error { return validate(v.s, text) }

// AnswerOf extracts the text and tool calls of a whole answer: the body
// in dialect d when raw is set, else the canonical response.
func AnswerOf(d llm.Dialect, raw []byte, resp *llm.Response) (string, []llm.ToolCall) {
	var text strings.Builder
	var calls []llm.ToolCall
	switch {
	case raw != nil && d == llm.DialectAnthropic:
		gjson.GetBytes(raw, "content").ForEach(func(_, b gjson.Result) bool {
			switch b.Get("type").Str {
			case "text":
				text.WriteString(b.Get("text").Str)
			case "tool_use":
				calls = append(calls, llm.ToolCall{Name: b.Get("name").Str, Arguments: b.Get("input").Raw})
			}
			return true
		})
	case raw != nil:
		m := gjson.GetBytes(raw, "choices.0.message")
		text.WriteString(m.Get("content").Str)
		m.Get("tool_calls").ForEach(func(_, c gjson.Result) bool {
			calls = append(calls, llm.ToolCall{Name: c.Get("function.name").Str, Arguments: c.Get("function.arguments").Str})
			return true
		})
	case resp != nil:
		for _, p := range resp.Content {
			switch {
			case p.Type == llm.PartText:
				text.WriteString(p.Text)
			case p.Type == llm.PartToolCall && p.ToolCall != nil:
				calls = append(calls, *p.ToolCall)
			}
		}
	}
	return text.String(), calls
}
