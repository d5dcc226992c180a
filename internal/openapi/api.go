// Package openapi compiles an OpenAPI 3.0/3.1 document into tools: one per
// operation, with a JSON Schema for its arguments (path, query and header
// parameters plus the request body), an output schema when the 2xx answer
// is a JSON object, and MCP annotations derived from the method. A Tool
// turns validated arguments back into the HTTP request the operation
// describes. The MCP server (internal/mcp) and the HTTP proxy
// (internal/apigw) both serve from a compiled API.
package openapi

import (
	"encoding/json"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// API is a compiled spec. It is immutable and safe for concurrent use.
type API struct {
	Title   string
	Version string
	// Tools are the operations exposed over MCP, in spec order (paths
	// sorted, then methods in GET, PUT, POST, DELETE, OPTIONS, HEAD, PATCH,
	// TRACE order), excluding those with x-tidegate-mcp: {enabled: false}
	// (or all of them when the root says so).
	Tools []*Tool
	// Operations are every operation, for the HTTP proxy (hidden ones
	// included: the MCP opt-out does not hide them from HTTP).
	Operations []*Operation
	// Warnings are lint findings that do not stop loading (missing
	// operationId or description, …), each with its location.
	Warnings []string
	// Doc is the loaded document the API was compiled from (for routing
	// and request validation with kin-openapi). Read-only.
	Doc *openapi3.T
}

// Operation is one method on one path.
type Operation struct {
	ID      string // operationId, or the sanitised method_path
	Method  string
	Path    string // template, e.g. /orders/{id}
	Summary string
	// Security is true when the spec requires credentials for it (a
	// non-empty security requirement, own or inherited from the root).
	Security bool
	// Middlewares are the named profiles of x-tidegate-middlewares.
	Middlewares []string
	// Dispatch is x-tidegate-dispatch.ai-proxy.model, when set: the
	// operation is an LLM route (served by the gateway, never forwarded to
	// the API's upstream, hidden from MCP).
	DispatchModel string
	// DispatchDialect is the request format of a dispatch operation:
	// "anthropic" (Messages) when the extension says dialect: anthropic or
	// the path ends with /messages, else "openai" (chat completions).
	DispatchDialect string
}

// Annotations are MCP tool hints derived from the method.
type Annotations struct {
	ReadOnly    bool // GET, HEAD
	Destructive bool // DELETE
	Idempotent  bool // GET, HEAD, PUT, DELETE
}

// Tool is an operation as an MCP tool.
type Tool struct {
	Name        string // operationId (sanitised to [A-Za-z0-9_-], ≤ 64 chars)
	Description string // summary and description
	// InputSchema is a self-contained JSON Schema (refs resolved) of an
	// object whose properties are the parameters and the body's properties
	// (at the top level when no name collides with a parameter, else under
	// "body"); required kept.
	InputSchema json.RawMessage
	// OutputSchema is the 2xx JSON response schema when it is an object;
	// nil otherwise.
	OutputSchema json.RawMessage
	Annotations  Annotations
	Operation    *Operation

	plan *plan // arguments → request
	// The compiled InputSchema, compiled on first use: most of a large
	// spec's tools are never called, and 500 compiled schemas kept 1.8 MB
	// the GC had to mark on every cycle (Compile proves they compile).
	schemas      *validators
	compileOnce  sync.Once
	validator    *jsonschema.Schema
	validatorErr error
}

// The rest of the contract, implemented alongside:
//
//	func Compile(ctx context.Context, path string) (*API, error)
//	    // loads a spec (YAML or JSON; local $refs resolved) and compiles it;
//	    // fails on documents that are not valid OpenAPI
//	func (t *Tool) Validate(args map[string]any) error
//	    // a JSON Schema check of the arguments; the error says what is wrong
//	func (t *Tool) Request(ctx context.Context, baseURL string, args map[string]any, h http.Header) (*http.Request, error)
//	    // builds the HTTP request: path parameters escaped, query arrays
//	    // (form/explode per the spec), header parameters, JSON body; h is
//	    // copied onto the request (forwarded credentials)
//
// Additions: Load and CompileDoc (load once, compile the loaded document),
// ParseBase and Tool.RequestAt (the base URL parsed once, not per call),
// Lint (the findings of `tidegate lint`), API.Doc, and ArgumentError (the
// error Validate returns).
