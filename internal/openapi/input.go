package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// plan is how a tool's arguments map back onto the HTTP request.
type plan struct {
	params []param
	body   bodyPlan
}

// param is one parameter: its argument key and how it is serialised.
type param struct {
	key     string // argument name (the parameter name unless taken)
	name    string // name on the wire
	in      string // path, query, header
	style   string
	explode bool
	asJSON  bool // content-described parameter: sent as JSON text
}

type bodyMode int

const (
	noBody     bodyMode = iota
	flatBody            // the body's properties are top-level arguments
	nestedBody          // the body is the argument named key
)

type bodyPlan struct {
	mode      bodyMode
	key       string // nestedBody: the argument holding the body
	mediaType string
	required  bool
}

// ignoredHeader reports whether OpenAPI says to ignore a header
// parameter of this name.
func ignoredHeader(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Accept", "Content-Type", "Authorization":
		return true
	}
	return false
}

// input builds a tool's input schema and its request plan.
func (c *compiler) input(loc string, item *openapi3.PathItem, op *openapi3.Operation) (json.RawMessage, *plan) {
	pl := &plan{}
	props := map[string]any{}
	var required []any
	for _, p := range parameters(item, op) {
		where := loc + ".parameters." + p.Name
		switch p.In {
		case openapi3.ParameterInCookie:
			c.warn(where + ": cookie parameters are not supported; left out of the tool")
			continue
		case openapi3.ParameterInHeader:
			if ignoredHeader(p.Name) {
				continue
			}
		}
		key := p.Name
		if _, taken := props[key]; taken {
			key = p.In + "." + p.Name
			c.warn(fmt.Sprintf("%s: name also used by another parameter; argument named %q", where, key))
		}
		schema, asJSON := c.paramSchema(p, where)
		props[key] = schema
		if p.Required || p.In == openapi3.ParameterInPath {
			required = append(required, key)
		}
		sm, err := p.SerializationMethod()
		if err != nil {
			continue
		}
		pl.params = append(pl.params, param{
			key: key, name: p.Name, in: p.In, style: sm.Style, explode: sm.Explode,
			asJSON: asJSON,
		})
	}

	top := map[string]any{"type": "object"}
	extra := any(false) // additionalProperties of the arguments
	if rb := op.RequestBody; rb != nil && rb.Value != nil {
		where := loc + ".requestBody"
		mt, media := jsonMedia(rb.Value.Content)
		switch {
		case media == nil:
			c.warn(fmt.Sprintf("%s: no JSON media type (%s); the tool sends no body", where, strings.Join(sortedKeys(rb.Value.Content), ", ")))
		default:
			body := c.in.ref(media.Schema, where)
			pl.body = bodyPlan{mediaType: mt, required: rb.Value.Required}
			if fprops, freq, fextra, ok := flatten(body, props); ok {
				pl.body.mode = flatBody
				for k, v := range fprops {
					props[k] = v
				}
				required = append(required, freq...)
				extra = fextra
			} else {
				pl.body.mode = nestedBody
				pl.body.key = "body"
				if _, taken := props["body"]; taken {
					pl.body.key = "requestBody"
				}
				if d := strings.TrimSpace(rb.Value.Description); d != "" {
					if bm, ok := body.(map[string]any); ok && bm["description"] == nil {
						bm = cloneMap(bm)
						bm["description"] = d
						body = bm
					}
				}
				props[pl.body.key] = body
				if rb.Value.Required {
					required = append(required, pl.body.key)
				}
			}
		}
	}
	top["properties"] = props
	if len(required) > 0 {
		top["required"] = required
	}
	if extra != nil {
		top["additionalProperties"] = extra
	}
	return c.marshal(loc, top), pl
}

// parameters are the path item's parameters overridden by the
// operation's (same name and location), path item's first.
func parameters(item *openapi3.PathItem, op *openapi3.Operation) []*openapi3.Parameter {
	var out []*openapi3.Parameter
	index := map[string]int{}
	for _, list := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		for _, r := range list {
			if r == nil || r.Value == nil {
				continue
			}
			p := r.Value
			id := p.In + " " + p.Name
			if i, ok := index[id]; ok {
				out[i] = p
				continue
			}
			index[id] = len(out)
			out = append(out, p)
		}
	}
	return out
}

// paramSchema is a parameter's argument schema, with its description.
func (c *compiler) paramSchema(p *openapi3.Parameter, where string) (any, bool) {
	var schema any = map[string]any{}
	asJSON := false
	switch {
	case p.Schema != nil:
		schema = c.in.ref(p.Schema, where)
	case len(p.Content) > 0:
		mt, media := jsonMedia(p.Content)
		if media == nil {
			mt = sortedKeys(p.Content)[0]
			media = p.Content[mt]
		} else {
			asJSON = true
		}
		if media != nil && media.Schema != nil {
			schema = c.in.ref(media.Schema, where)
		}
	}
	m, ok := schema.(map[string]any)
	if !ok {
		return schema, asJSON
	}
	d := strings.TrimSpace(p.Description)
	addDesc := d != "" && m["description"] == nil
	if addDesc || p.Deprecated {
		m = cloneMap(m)
		if addDesc {
			m["description"] = d
		}
		if p.Deprecated {
			m["deprecated"] = true
		}
	}
	return m, asJSON
}

// jsonMedia picks the JSON media type of a content map: application/json
// first, then any other */json or */*+json, by name.
func jsonMedia(content openapi3.Content) (string, *openapi3.MediaType) {
	var best string
	for _, k := range sortedKeys(content) {
		mt, _, err := mime.ParseMediaType(k)
		if err != nil {
			continue
		}
		_, sub, _ := strings.Cut(mt, "/")
		if mt == "application/json" {
			return k, content[k]
		}
		if best == "" && (sub == "json" || strings.HasSuffix(sub, "+json")) {
			best = k
		}
	}
	if best == "" {
		return "", nil
	}
	return best, content[best]
}

// flatten returns the body's properties, required names and
// additionalProperties (nil: allowed) when the body is an object whose
// properties can sit next to the parameters.
func flatten(body any, params map[string]any) (map[string]any, []any, any, bool) {
	m, ok := body.(map[string]any)
	if !ok || m["type"] != "object" {
		return nil, nil, nil, false
	}
	// Keywords about the whole body other than these would constrain the
	// parameters too; annotations of the whole body are dropped.
	for k := range m {
		switch k {
		case "type", "properties", "required", "additionalProperties",
			"description", "title", "examples", "default", "deprecated", "readOnly", "writeOnly":
		default:
			return nil, nil, nil, false
		}
	}
	props := asMap(m["properties"])
	if len(props) == 0 {
		return nil, nil, nil, false
	}
	for name := range props {
		if _, clash := params[name]; clash {
			return nil, nil, nil, false
		}
	}
	return props, asSlice(m["required"]), m["additionalProperties"], true
}

// output is the schema of the first 2xx JSON response, when an object.
func (c *compiler) output(loc string, op *openapi3.Operation) json.RawMessage {
	if op.Responses == nil {
		return nil
	}
	for _, code := range successCodes(op.Responses.Keys()) {
		r := op.Responses.Value(code)
		if r == nil || r.Value == nil {
			continue
		}
		_, media := jsonMedia(r.Value.Content)
		if media == nil || media.Schema == nil {
			continue
		}
		v := c.out.ref(media.Schema, loc+".responses."+code)
		if !isObject(v) {
			return nil
		}
		return c.marshal(loc, v)
	}
	return nil
}

// successCodes are the 2xx status keys, in order (2XX last).
func successCodes(keys []string) []string {
	var out []string
	for _, k := range keys {
		if len(k) == 3 && k[0] == '2' {
			if _, err := strconv.Atoi(k); err == nil || strings.EqualFold(k, "2XX") {
				out = append(out, k)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToUpper(out[i]) < strings.ToUpper(out[j]) })
	return out
}

// marshal writes v as compact JSON without HTML escaping; a failure is a
// compile error at where.
func (c *compiler) marshal(where string, v any) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		c.fail("%s: schema: %v", where, err)
		return nil
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}
