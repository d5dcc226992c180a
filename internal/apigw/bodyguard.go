package apigw

import (
	"github.com/tidegate/tidegate/internal/guard"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/openapi"
)

// BodyGuard is a compiled `middlewares:` guard: a guardrails policy over
// every string of the body and/or a JSON Schema the body must match.
type BodyGuard struct {
	Policy *guard.Policy
	Schema *guard.Validator
}

// BodyGuards are the guards of one API's operations, shared by the HTTP
// proxy and the MCP server. A nil *BodyGuards passes everything.
type BodyGuards struct {
	ops map[string][]namedGuard // operation id → guards, in the spec's order
}

type namedGuard struct {
	name string
	BodyGuard
}

// NewBodyGuards attaches profiles to the operations that name them; nil
// when no operation has a guard. Unknown names are NewLimits' to report.
func NewBodyGuards(api *openapi.API, profiles map[string]BodyGuard) *BodyGuards {
	b := &BodyGuards{ops: map[string][]namedGuard{}}
	for _, op := range api.Operations {
		for _, p := range op.Middlewares {
			if g, ok := profiles[p]; ok {
				b.ops[op.ID] = append(b.ops[op.ID], namedGuard{p, g})
			}
		}
	}
	if len(b.ops) == 0 {
		return nil
	}
	return b
}

// Check runs the operation's guards over a JSON body and returns it with
// any redactions applied; a refusal is a 400 that gives the reason,
// never the text.
func (b *BodyGuards) Check(operation string, body []byte) ([]byte, error) {
	if b == nil {
		return body, nil
	}
	for _, g := range b.ops[operation] {
		if g.Policy != nil {
			out, err := g.Policy.Body(body)
			if blocked, ok := guard.AsBlocked(err); ok {
				return nil, guard.BlockedRequest(g.name, blocked)
			}
			if err != nil {
				return nil, err
			}
			body = out
		}
		if g.Schema != nil {
			if err := g.Schema.Check(string(body)); err != nil {
				return nil, &llm.Error{Kind: llm.KindInvalidRequest, Code: "guardrail_blocked",
					Message: "the request was blocked by guard " + g.name + ": the body does not match its schema: " + err.Error()}
			}
		}
	}
	return body, nil
}

// Has reports whether the operation has a guard.
func (b *BodyGuards) Has(operation string) bool { return b != nil && len(b.ops[operation]) > 0 }
