package guard

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

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
// Compiled schemas are kept in the policy's cache, so a caller that sends
// the same response format and tools on every turn compiles them once.
func (p *Policy) RequestSchemas(d llm.Dialect, body []byte) (*Schemas, error) {
	var out *Schemas
	var schema gjson.Result
	if d == llm.DialectAnthropic {
		if f := gjson.GetBytes(body, "output_format"); f.Get("type").Str == "json_schema" {
			schema = f.Get("schema")
		}
	} else if f := gjson.GetBytes(body, "response_format"); f.Get("type").Str == "json_schema" {
		schema = f.Get("json_schema.schema")
	}
	if schema.IsObject() {
		s, err := p.schemas.compile(schema.Raw, "the response format's schema")
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
		if s, err = p.schemas.compile(params.Raw, "the schema of tool "+name); err != nil {
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

// The schema cache holds at most this many schemas, and this much schema
// text, per generation (two generations are kept).
const (
	schemaCacheEntries = 256
	schemaCacheBytes   = 1 << 20
)

// schemaCache keeps compiled request schemas by the SHA-256 of their
// text. It is an LRU approximation in two generations: when the current
// map is full it becomes the old one (the previous old one is dropped),
// and a schema found in the old map moves to the current one. A nil
// *schemaCache compiles every time. Safe for concurrent use.
type schemaCache struct {
	mu       sync.Mutex
	cur, old map[[sha256.Size]byte]cachedSchema
	curBytes int
}

type cachedSchema struct {
	s    *jsonschema.Schema
	size int
}

// compile returns the compiled schema of raw, from the cache or compiled
// now (and then cached); what names the schema in the error.
func (c *schemaCache) compile(raw, what string) (*jsonschema.Schema, error) {
	if c == nil {
		return compileRequestSchema(raw, what)
	}
	key := sha256.Sum256([]byte(raw))
	if s := c.get(key); s != nil {
		return s, nil
	}
	s, err := compileRequestSchema(raw, what)
	if err == nil {
		c.put(key, cachedSchema{s, len(raw)})
	}
	return s, err
}

func (c *schemaCache) get(key [sha256.Size]byte) *jsonschema.Schema {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.cur[key]; ok {
		return e.s
	}
	e, ok := c.old[key]
	if !ok {
		return nil
	}
	delete(c.old, key)
	c.putLocked(key, e)
	return e.s
}

func (c *schemaCache) put(key [sha256.Size]byte, e cachedSchema) {
	if e.size > schemaCacheBytes/4 {
		return // one huge schema would flush everyone else's
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(key, e)
}

func (c *schemaCache) putLocked(key [sha256.Size]byte, e cachedSchema) {
	if len(c.cur) >= schemaCacheEntries || c.curBytes+e.size > schemaCacheBytes {
		c.old, c.cur, c.curBytes = c.cur, nil, 0
	}
	if c.cur == nil {
		c.cur = map[[sha256.Size]byte]cachedSchema{}
	}
	if _, ok := c.cur[key]; !ok {
		c.cur[key] = e
		c.curBytes += e.size
	}
}

// compileRequestSchema compiles a schema a request carries; one that does
// not compile is the caller's error.
func compileRequestSchema(raw, what string) (*jsonschema.Schema, error) {
	s, err := compileSchema(raw)
	if err != nil {
		return nil, llm.Errorf(llm.KindInvalidRequest, "%s is not a valid JSON Schema: %v", what, err)
	}
	return s, nil
}

// compileSchema compiles one JSON Schema document, refusing external
// $refs.
func compileSchema(raw string) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(raw))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	if err := c.AddResource("urn:tidegate:schema", doc); err != nil {
		return nil, err
	}
	return c.Compile("urn:tidegate:schema")
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
	s, err := compileSchema(string(raw))
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
