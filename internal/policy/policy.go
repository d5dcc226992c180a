// Package policy compiles and evaluates CEL expressions over a request:
// the `when:` of conditional routing targets and the ordered `policies:`
// rules that pick a named target or deny a request. Expressions are
// compiled once at load, so an invalid one refuses to start the gateway.
package policy

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/interpreter"
)

// Vars is what an expression can see. Names in CEL: model, path, dialect,
// headers (lower-case names → values joined by ","), stream, tokens (an
// estimate of the prompt size), max_tokens, metadata, and key, user, team
// (the caller's identity, empty maps until authentication sets them).
// API calls also set api, operation (the operationId), method, and jwt
// ({"claims": the verified claims} with auth: jwt, else empty claims).
type Vars struct {
	Model     string
	Path      string
	Dialect   string
	Header    http.Header
	Stream    bool
	Tokens    int
	MaxTokens int
	Metadata  map[string]any
	Key       map[string]any
	User      map[string]any
	Team      map[string]any
	API       string
	Operation string
	Method    string
	// Claims are the verified JWT claims (jwt.claims in CEL).
	Claims map[string]any
}

// Compiler holds the CEL environment. It is safe for concurrent use.
type Compiler struct{ env *cel.Env }

// NewCompiler declares the variables of Vars.
func NewCompiler() (*Compiler, error) {
	dyn := cel.MapType(cel.StringType, cel.DynType)
	env, err := cel.NewEnv(
		cel.Variable("model", cel.StringType),
		cel.Variable("path", cel.StringType),
		cel.Variable("dialect", cel.StringType),
		cel.Variable("headers", cel.MapType(cel.StringType, cel.StringType)),
		cel.Variable("stream", cel.BoolType),
		cel.Variable("tokens", cel.IntType),
		cel.Variable("max_tokens", cel.IntType),
		cel.Variable("metadata", dyn),
		cel.Variable("key", dyn),
		cel.Variable("user", dyn),
		cel.Variable("team", dyn),
		cel.Variable("api", cel.StringType),
		cel.Variable("operation", cel.StringType),
		cel.Variable("method", cel.StringType),
		cel.Variable("jwt", dyn),
	)
	if err != nil {
		return nil, fmt.Errorf("cel environment: %w", err)
	}
	return &Compiler{env: env}, nil
}

// Expr is a compiled boolean expression.
type Expr struct {
	src string
	prg cel.Program
}

// Compile checks that src is a valid CEL expression of type bool.
func (c *Compiler) Compile(src string) (*Expr, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("empty expression")
	}
	ast, iss := c.env.Compile(src)
	if iss.Err() != nil {
		return nil, fmt.Errorf("invalid CEL: %w", iss.Err())
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, fmt.Errorf("CEL expression must be a bool, got %s", ast.OutputType())
	}
	prg, err := c.env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, fmt.Errorf("CEL program: %w", err)
	}
	return &Expr{src: src, prg: prg}, nil
}

// String is the source text.
func (e *Expr) String() string { return e.src }

// Match evaluates the expression. A runtime error (a missing map key, a
// type mismatch) is returned and counts as no match for the caller.
func (e *Expr) Match(v *Vars) (bool, error) {
	out, _, err := e.prg.Eval(&activation{v: v})
	if err != nil {
		return false, fmt.Errorf("evaluate %q: %w", e.src, err)
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("evaluate %q: not a bool", e.src)
	}
	return b, nil
}

// activation resolves variables straight from Vars, building the headers
// map only if an expression reads it.
type activation struct {
	v       *Vars
	headers map[string]string
}

func (a *activation) ResolveName(name string) (any, bool) {
	v := a.v
	switch name {
	case "model":
		return v.Model, true
	case "path":
		return v.Path, true
	case "dialect":
		return v.Dialect, true
	case "stream":
		return v.Stream, true
	case "tokens":
		return int64(v.Tokens), true
	case "max_tokens":
		return int64(v.MaxTokens), true
	case "headers":
		if a.headers == nil {
			a.headers = make(map[string]string, len(v.Header))
			for k, vals := range v.Header {
				a.headers[strings.ToLower(k)] = strings.Join(vals, ",")
			}
		}
		return a.headers, true
	case "metadata":
		return orEmpty(v.Metadata), true
	case "key":
		return orEmpty(v.Key), true
	case "user":
		return orEmpty(v.User), true
	case "team":
		return orEmpty(v.Team), true
	case "api":
		return v.API, true
	case "operation":
		return v.Operation, true
	case "method":
		return v.Method, true
	case "jwt":
		return map[string]any{"claims": orEmpty(v.Claims)}, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
