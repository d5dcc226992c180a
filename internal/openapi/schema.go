package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"

	"github.com/getkin/kin-openapi/openapi3"
)

// converter turns OpenAPI schema objects into self-contained JSON Schema
// (draft 2020-12) values: $refs inlined, recursion cut, OpenAPI-only
// keywords translated or dropped. Results are shared between tools, so
// they are never modified once returned: callers copy before editing.
type converter struct {
	input   bool // request side: readOnly properties left out (else writeOnly)
	is30    bool
	warn    func(string)
	memo    map[*openapi3.Schema]any
	onStack map[*openapi3.Schema]bool
	cuts    int // recursion cuts so far: a result that needed one is not memoised
}

func newConverter(input, is30 bool, warn func(string)) *converter {
	return &converter{
		input: input, is30: is30, warn: warn,
		memo: map[*openapi3.Schema]any{}, onStack: map[*openapi3.Schema]bool{},
	}
}

// dropped are OpenAPI keywords that are not JSON Schema (or that lose
// their meaning once references are inlined).
var dropped = [...]string{
	"nullable", "example", "discriminator", "xml", "externalDocs", "allowEmptyValue",
	"$schema", "$id", "$anchor", "$dynamicAnchor", "$dynamicRef", "$comment", "$defs",
}

// ref converts a schema reference; where locates it for warnings.
func (c *converter) ref(r *openapi3.SchemaRef, where string) any {
	if r == nil {
		return map[string]any{}
	}
	if r.Value == nil {
		c.warn(fmt.Sprintf("%s: unresolved $ref %q: any value accepted", where, r.Ref))
		return map[string]any{}
	}
	return c.schema(r.Value, r.Ref, where)
}

func (c *converter) schema(s *openapi3.Schema, ref, where string) any {
	if s.Always != nil {
		return *s.Always
	}
	if v, ok := c.memo[s]; ok {
		return v
	}
	if c.onStack[s] {
		c.cuts++
		if ref == "" {
			ref = "(inline)"
		}
		c.warn(fmt.Sprintf("%s: recursive schema %s cut to {\"type\":\"object\"}", where, ref))
		return map[string]any{"type": "object"}
	}
	c.onStack[s] = true
	cuts := c.cuts
	v := c.build(s, where)
	delete(c.onStack, s)
	if c.cuts == cuts {
		c.memo[s] = v
	}
	return v
}

func (c *converter) build(s *openapi3.Schema, where string) map[string]any {
	m := c.keywords(s, where)

	if s.Example != nil {
		if _, ok := m["examples"]; !ok {
			m["examples"] = []any{m["example"]}
		}
	}
	for _, k := range dropped {
		delete(m, k)
	}
	if c.is30 {
		exclusive(m, s.ExclusiveMin, "minimum", "exclusiveMinimum")
		exclusive(m, s.ExclusiveMax, "maximum", "exclusiveMaximum")
	}
	if s.Nullable {
		nullable(m)
	}

	list := func(refs openapi3.SchemaRefs) []any {
		out := make([]any, len(refs))
		for i, r := range refs {
			out[i] = c.ref(r, where)
		}
		return out
	}
	set := func(k string, r *openapi3.SchemaRef) {
		if r != nil {
			m[k] = c.ref(r, where)
		}
	}
	setMap := func(k string, schemas openapi3.Schemas) {
		if len(schemas) == 0 {
			return
		}
		out := make(map[string]any, len(schemas))
		for name, r := range schemas {
			out[name] = c.ref(r, where)
		}
		m[k] = out
	}
	for k, refs := range map[string]openapi3.SchemaRefs{"allOf": s.AllOf, "anyOf": s.AnyOf, "oneOf": s.OneOf, "prefixItems": s.PrefixItems} {
		if len(refs) > 0 {
			m[k] = list(refs)
		}
	}
	set("not", s.Not)
	set("items", s.Items)
	set("contains", s.Contains)
	set("propertyNames", s.PropertyNames)
	set("if", s.If)
	set("then", s.Then)
	set("else", s.Else)
	set("contentSchema", s.ContentSchema)
	set("additionalProperties", s.AdditionalProperties.Schema)
	set("unevaluatedItems", s.UnevaluatedItems.Schema)
	set("unevaluatedProperties", s.UnevaluatedProperties.Schema)
	setMap("patternProperties", s.PatternProperties)
	setMap("dependentSchemas", s.DependentSchemas)
	c.properties(m, s, where)
	mergeAllOf(m)
	return m
}

// keywords renders s's own keywords (everything but its subschemas) as
// kin-openapi would write them.
func (c *converter) keywords(s *openapi3.Schema, where string) map[string]any {
	cp := *s
	cp.Extensions = nil
	cp.OneOf, cp.AnyOf, cp.AllOf, cp.PrefixItems = nil, nil, nil, nil
	cp.Not, cp.Items, cp.Contains, cp.PropertyNames = nil, nil, nil, nil
	cp.If, cp.Then, cp.Else, cp.ContentSchema = nil, nil, nil, nil
	cp.Properties, cp.PatternProperties, cp.DependentSchemas, cp.Defs = nil, nil, nil, nil
	cp.AdditionalProperties.Schema = nil
	cp.UnevaluatedItems.Schema = nil
	cp.UnevaluatedProperties.Schema = nil
	cp.Discriminator, cp.XML, cp.ExternalDocs = nil, nil, nil
	m := map[string]any{}
	raw, err := json.Marshal(cp)
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		err = dec.Decode(&m)
	}
	if err != nil {
		c.warn(fmt.Sprintf("%s: schema not representable: %v", where, err))
	}
	return m
}

// properties converts s.Properties, leaving out those the side does not
// carry (readOnly in requests, writeOnly in responses).
func (c *converter) properties(m map[string]any, s *openapi3.Schema, where string) {
	if len(s.Properties) == 0 {
		return
	}
	skip := "writeOnly"
	if c.input {
		skip = "readOnly"
	}
	props := make(map[string]any, len(s.Properties))
	var left []string
	for _, name := range sortedKeys(s.Properties) {
		v := c.ref(s.Properties[name], where)
		if pm, ok := v.(map[string]any); ok && pm[skip] == true {
			left = append(left, name)
			continue
		}
		props[name] = v
	}
	m["properties"] = props
	if req, ok := m["required"].([]any); ok && len(left) > 0 {
		req = slices.DeleteFunc(slices.Clone(req), func(r any) bool {
			s, _ := r.(string)
			return slices.Contains(left, s)
		})
		if len(req) == 0 {
			delete(m, "required")
		} else {
			m["required"] = req
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// exclusive turns OpenAPI 3.0's boolean exclusiveMinimum/Maximum into the
// JSON Schema number form.
func exclusive(m map[string]any, b openapi3.ExclusiveBound, bound, key string) {
	if b.Bool == nil {
		return
	}
	delete(m, key)
	if *b.Bool {
		if v, ok := m[bound]; ok {
			m[key] = v
			delete(m, bound)
		}
	}
}

// nullable turns OpenAPI 3.0's nullable into a type union.
func nullable(m map[string]any) {
	switch t := m["type"].(type) {
	case string:
		if t != "null" {
			m["type"] = []any{t, "null"}
		}
	case []any:
		if !slices.Contains(t, any("null")) {
			m["type"] = append(slices.Clone(t), "null")
		}
	default:
		return
	}
	if enum, ok := m["enum"].([]any); ok && !slices.Contains(enum, nil) {
		m["enum"] = append(slices.Clone(enum), nil)
	}
}

// mergeAllOf folds an allOf of plain object schemas (properties, required,
// annotations; no property defined twice differently) into the schema
// itself, which agents read more easily. Anything else stays an allOf. The
// parts' own descriptions and titles describe the parts, not the whole, so
// they are not carried over.
func mergeAllOf(m map[string]any) {
	parts, ok := m["allOf"].([]any)
	if !ok || !plainObject(m, "allOf") {
		return
	}
	props := map[string]any{}
	var required []any
	add := func(pm map[string]any) bool {
		for name, v := range asMap(pm["properties"]) {
			if prev, ok := props[name]; ok && !reflect.DeepEqual(prev, v) {
				return false
			}
			props[name] = v
		}
		for _, r := range asSlice(pm["required"]) {
			if !slices.Contains(required, r) {
				required = append(required, r)
			}
		}
		return true
	}
	for _, p := range parts {
		pm, ok := p.(map[string]any)
		if !ok || !plainObject(pm) || !add(pm) {
			return
		}
	}
	if !add(m) {
		return
	}
	delete(m, "allOf")
	m["type"] = "object"
	if len(props) > 0 {
		m["properties"] = props
	}
	if len(required) > 0 {
		m["required"] = required
	}
}

// plainObject reports whether m is an object schema made only of type,
// properties, required, description and title (and the extra keywords
// allowed): one that can be merged with others.
func plainObject(m map[string]any, extra ...string) bool {
	for k, v := range m {
		switch k {
		case "type":
			if v != "object" {
				return false
			}
		case "properties", "required", "description", "title":
		default:
			if !slices.Contains(extra, k) {
				return false
			}
		}
	}
	return true
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// isObject reports whether a converted schema is exactly an object type
// described by its own properties (what MCP wants for outputSchema, and
// what a body needs to be flattened into the arguments).
func isObject(v any) bool {
	m, ok := v.(map[string]any)
	return ok && m["type"] == "object"
}

// cloneMap copies the top level of m.
func cloneMap(m map[string]any) map[string]any {
	return maps.Clone(m)
}
