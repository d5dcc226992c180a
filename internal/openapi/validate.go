package openapi

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// ArgumentError says why a tool's arguments were rejected, one problem per
// entry, each prefixed with the argument's path ("limit: expected integer,
// got string"; "missing required property 'id'").
type ArgumentError struct {
	Problems []string
}

func (e *ArgumentError) Error() string {
	return "invalid arguments: " + strings.Join(e.Problems, "; ")
}

// Validate checks args against the tool's input schema. A rejection is an
// *ArgumentError written for the agent that sent the arguments.
func (t *Tool) Validate(args map[string]any) error {
	if t.schemas == nil {
		return errors.New("openapi: tool was not built by Compile")
	}
	t.compileOnce.Do(func() { t.validator, t.validatorErr = t.schemas.compile(t.InputSchema) })
	if t.validatorErr != nil {
		return fmt.Errorf("openapi: input schema: %w", t.validatorErr)
	}
	var v any = args
	if args == nil {
		v = map[string]any{}
	}
	err := t.validator.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return &ArgumentError{Problems: []string{err.Error()}}
	}
	p := message.NewPrinter(language.English)
	var problems []string
	describe(ve, p, nil, &problems)
	slices.Sort(problems)
	problems = slices.Compact(problems)
	if len(problems) == 0 {
		problems = []string{ve.Error()}
	}
	return &ArgumentError{Problems: problems}
}

// describe appends the leaves of a validation error tree as sentences,
// each located relative to base.
func describe(e *jsonschema.ValidationError, p *message.Printer, base []string, out *[]string) {
	loc := e.InstanceLocation
	if len(loc) >= len(base) && slices.Equal(loc[:len(base)], base) {
		loc = loc[len(base):]
	}
	at := instancePath(loc)
	say := func(msg string) {
		if at != "" {
			msg = at + ": " + msg
		}
		*out = append(*out, msg)
	}
	switch k := e.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.AllOf, *kind.Reference:
		for _, c := range e.Causes {
			describe(c, p, base, out)
		}
		return
	case *kind.AnyOf, *kind.OneOf:
		if o, ok := k.(*kind.OneOf); ok && len(o.Subschemas) > 1 {
			say("matches more than one of the allowed alternatives")
			return
		}
		var alts []string
		for i, c := range e.Causes {
			var sub []string
			describe(c, p, e.InstanceLocation, &sub)
			slices.Sort(sub)
			alts = append(alts, fmt.Sprintf("option %d: %s", i+1, strings.Join(sub, ", ")))
		}
		say("matches none of the allowed alternatives (" + strings.Join(alts, "; ") + ")")
		return
	case *kind.Required:
		if len(k.Missing) == 1 {
			say(fmt.Sprintf("missing required property '%s'", k.Missing[0]))
		} else {
			say("missing required properties '" + strings.Join(k.Missing, "', '") + "'")
		}
	case *kind.Type:
		say(fmt.Sprintf("expected %s, got %s", strings.Join(k.Want, " or "), k.Got))
	case *kind.AdditionalProperties:
		if len(k.Properties) == 1 {
			say(fmt.Sprintf("unexpected property '%s'", k.Properties[0]))
		} else {
			say("unexpected properties '" + strings.Join(k.Properties, "', '") + "'")
		}
	case *kind.FalseSchema:
		say("not allowed")
	case *kind.InvalidJsonValue:
		say(fmt.Sprintf("not a JSON value (%T)", k.Value))
	default:
		say(e.ErrorKind.LocalizedString(p))
	}
	for _, c := range e.Causes {
		describe(c, p, base, out)
	}
}

// instancePath renders a JSON pointer's tokens as items[0].sku.
func instancePath(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		if _, err := strconv.Atoi(t); err == nil {
			b.WriteString("[" + t + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(t)
	}
	return b.String()
}

// validators compiles tools' input schemas with one JSON Schema compiler
// (the metaschema is compiled once), which also proves each schema is
// valid JSON Schema. Safe for concurrent use.
type validators struct {
	mu sync.Mutex
	c  *jsonschema.Compiler
	n  int
}

func newValidators() *validators {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	return &validators{c: c}
}

func (v *validators) compile(schema []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.n++
	url := fmt.Sprintf("urn:tidegate:tool:%d", v.n)
	if err := v.c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return v.c.Compile(url)
}
