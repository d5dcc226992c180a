package openapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Extensions read from the spec.
const (
	extMCP         = "x-tidegate-mcp"
	extMiddlewares = "x-tidegate-middlewares"
	extDispatch    = "x-tidegate-dispatch"
)

// maxToolName is the longest tool name MCP clients are known to accept.
const maxToolName = 64

// methodOrder is the order of operations within one path.
var methodOrder = [...]string{
	http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete,
	http.MethodOptions, http.MethodHead, http.MethodPatch, http.MethodTrace,
}

// Compile loads the spec at path (YAML or JSON, OpenAPI 3.0 or 3.1; $refs
// within the document resolved, nothing read from other files or the
// network) and compiles it. It fails on documents that are not valid
// OpenAPI and on specs whose tools cannot be built (duplicate tool names,
// malformed x-tidegate-* extensions); every problem found is reported, one
// per line, each prefixed with path.
func Compile(ctx context.Context, path string) (*API, error) {
	doc, err := Load(ctx, path)
	if err != nil {
		return nil, err
	}
	api, err := CompileDoc(ctx, doc)
	if err != nil {
		return nil, prefixErrors(path, err)
	}
	return api, nil
}

// Load reads and validates the OpenAPI document at path, the way Compile
// does. The document is shared with the caller: treat it as read-only.
func Load(ctx context.Context, path string) (*openapi3.T, error) {
	l := openapi3.NewLoader()
	l.Context = ctx
	l.IsExternalRefsAllowed = false
	doc, err := l.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := validateDoc(ctx, doc); err != nil {
		return nil, prefixErrors(path, err)
	}
	return doc, nil
}

func validateDoc(ctx context.Context, doc *openapi3.T) error {
	switch doc.OpenAPIMajorMinor() {
	case "3.0", "3.1":
	default:
		if doc.OpenAPI == "" {
			return errors.New(`not an OpenAPI 3 document (no "openapi" field; Swagger 2.0 is not supported)`)
		}
		return fmt.Errorf("openapi %q: only OpenAPI 3.0 and 3.1 are supported", doc.OpenAPI)
	}
	// Examples are documentation: a stale one should not stop a gateway.
	err := doc.Validate(ctx, openapi3.DisableExamplesValidation(), openapi3.EnableMultiError())
	if err == nil {
		return nil
	}
	var errs []error
	for _, e := range splitErrors(err) {
		errs = append(errs, fmt.Errorf("invalid OpenAPI document: %w", e))
	}
	return errors.Join(errs...)
}

// CompileDoc compiles a document loaded by Load (or any validated
// openapi3.T). The document is only read.
func CompileDoc(ctx context.Context, doc *openapi3.T) (*API, error) {
	c := newCompiler(doc)
	api := c.compile(ctx)
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	return api, nil
}

// splitErrors lists the errors joined in err (errors.Join,
// openapi3.MultiError).
func splitErrors(err error) []error {
	var list []error
	switch e := err.(type) {
	case openapi3.MultiError:
		list = e
	case interface{ Unwrap() []error }:
		list = e.Unwrap()
	default:
		return []error{err}
	}
	var out []error
	for _, e := range list {
		out = append(out, splitErrors(e)...)
	}
	return out
}

// prefixErrors prefixes each of the errors joined in err with path.
func prefixErrors(path string, err error) error {
	var out []error
	for _, e := range splitErrors(err) {
		out = append(out, fmt.Errorf("%s: %w", path, e))
	}
	return errors.Join(out...)
}

// compiler holds the state of one compilation.
type compiler struct {
	doc      *openapi3.T
	is30     bool
	warnings []string
	seen     map[string]bool // warnings already reported
	errs     []error
	in, out  *converter // request and response schema converters
	names    map[string]string
}

func newCompiler(doc *openapi3.T) *compiler {
	c := &compiler{doc: doc, is30: !doc.IsOpenAPI31OrLater(), seen: map[string]bool{}, names: map[string]string{}}
	c.in = newConverter(true, c.is30, c.warn)
	c.out = newConverter(false, c.is30, c.warn)
	return c
}

func (c *compiler) warn(msg string) {
	if !c.seen[msg] {
		c.seen[msg] = true
		c.warnings = append(c.warnings, msg)
	}
}

func (c *compiler) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf(format, args...))
}

func (c *compiler) compile(ctx context.Context) *API {
	api := &API{Doc: c.doc}
	if info := c.doc.Info; info != nil {
		api.Title, api.Version = info.Title, info.Version
	}
	rootMCP, err := mcpEnabled(c.doc.Extensions)
	if err != nil {
		c.fail("%s: %v", extMCP, err)
	}
	var paths []string
	if c.doc.Paths != nil {
		paths = c.doc.Paths.Keys()
		sort.Strings(paths)
	}
	check, lazy := newValidators(), newValidators() // check's compiled schemas are dropped with it
	for _, p := range paths {
		item := c.doc.Paths.Value(p)
		if item == nil {
			continue
		}
		for _, method := range methodOrder {
			op := item.GetOperation(method)
			if op == nil {
				continue
			}
			if ctx.Err() != nil {
				c.errs = append(c.errs, ctx.Err())
				return api
			}
			o, t := c.operation(p, method, item, op, rootMCP)
			api.Operations = append(api.Operations, o)
			if t == nil {
				continue
			}
			if _, err := check.compile(t.InputSchema); err != nil {
				c.fail("%s: input schema: %v", location(p, method), err)
				continue
			}
			t.schemas = lazy
			api.Tools = append(api.Tools, t)
		}
	}
	api.Warnings = c.warnings
	return api
}

// location names an operation the way warnings and errors do.
func location(path, method string) string {
	return "paths." + path + "." + strings.ToLower(method)
}

// operation compiles one operation; the tool is nil when it is hidden
// from MCP or cannot be built.
func (c *compiler) operation(path, method string, item *openapi3.PathItem, op *openapi3.Operation, rootMCP *bool) (*Operation, *Tool) {
	loc := location(path, method)
	o := &Operation{ID: op.OperationID, Method: method, Path: path, Summary: op.Summary}

	name := sanitizeName(op.OperationID)
	if op.OperationID == "" {
		name = sanitizeName(methodPathName(method, path))
		o.ID = name
		c.warn(fmt.Sprintf("%s: no operationId; tool named %s", loc, name))
	} else if name != op.OperationID {
		c.warn(fmt.Sprintf("%s: operationId %q is not a valid tool name; tool named %s", loc, op.OperationID, name))
	}
	if prev, ok := c.names[name]; ok {
		c.fail("duplicate tool name %q: %s and %s", name, prev, loc)
	} else {
		c.names[name] = loc
	}

	o.Security = requiresCredentials(c.doc.Security, op.Security)
	var err error
	if o.Middlewares, err = middlewares(op.Extensions); err != nil {
		c.fail("%s.%s: %v", loc, extMiddlewares, err)
	}
	if o.DispatchModel, o.DispatchDialect, err = dispatchModel(op.Extensions); err != nil {
		c.fail("%s.%s: %v", loc, extDispatch, err)
	}
	if o.DispatchModel != "" && o.DispatchDialect == "" {
		o.DispatchDialect = DialectOpenAI
		if strings.HasSuffix(path, "/messages") {
			o.DispatchDialect = DialectAnthropic
		}
	}
	enabled, err := mcpEnabled(op.Extensions)
	if err != nil {
		c.fail("%s.%s: %v", loc, extMCP, err)
	}
	if enabled == nil {
		enabled = rootMCP
	}

	desc := joinNonEmpty("\n\n", strings.TrimSpace(op.Summary), strings.TrimSpace(op.Description))
	if desc == "" {
		c.warn(fmt.Sprintf("%s: no summary or description", loc))
	}
	t := &Tool{
		Name:        name,
		Description: desc,
		Annotations: annotationsFor(method),
		Operation:   o,
	}
	if (enabled != nil && !*enabled) || o.DispatchModel != "" { // an LLM route is not a tool
		return o, nil
	}
	t.InputSchema, t.plan = c.input(loc, item, op)
	t.OutputSchema = c.output(loc, op)
	return o, t
}

func annotationsFor(method string) Annotations {
	switch method {
	case http.MethodGet, http.MethodHead:
		return Annotations{ReadOnly: true, Idempotent: true}
	case http.MethodPut:
		return Annotations{Idempotent: true}
	case http.MethodDelete:
		return Annotations{Destructive: true, Idempotent: true}
	}
	return Annotations{}
}

// requiresCredentials reports whether the effective security requirement
// (the operation's when it has one, even an empty one, else the root's)
// demands credentials. A requirement list containing {} makes them
// optional.
func requiresCredentials(root openapi3.SecurityRequirements, own *openapi3.SecurityRequirements) bool {
	reqs := root
	if own != nil {
		reqs = *own
	}
	if len(reqs) == 0 {
		return false
	}
	for _, r := range reqs {
		if len(r) == 0 {
			return false
		}
	}
	return true
}

// sanitizeName maps s onto [A-Za-z0-9_-]{1,64}. Names cut to fit keep a
// hash of the whole so that long names sharing a prefix stay distinct.
func sanitizeName(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '-') {
			b[i] = '_'
		}
	}
	out := string(b)
	if out == "" {
		return "_"
	}
	if len(out) > maxToolName {
		h := fnv.New32a()
		h.Write([]byte(s))
		out = fmt.Sprintf("%s_%08x", out[:maxToolName-9], h.Sum32())
	}
	return out
}

// methodPathName is the tool name of an operation without operationId:
// get /orders/{id}/items → get_orders_id_items.
func methodPathName(method, path string) string {
	parts := []string{strings.ToLower(method)}
	for _, seg := range strings.Split(path, "/") {
		seg = strings.Trim(seg, "{}")
		if seg != "" {
			parts = append(parts, seg)
		}
	}
	return strings.Join(parts, "_")
}

func joinNonEmpty(sep string, parts ...string) string {
	parts = slices.DeleteFunc(parts, func(s string) bool { return s == "" })
	return strings.Join(parts, sep)
}

// decodeExt re-decodes an extension's value into v, strictly.
func decodeExt(raw any, v any) error {
	b, err := json.Marshal(raw)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// mcpEnabled reads x-tidegate-mcp: {enabled: bool}; nil when absent.
func mcpEnabled(ext map[string]any) (*bool, error) {
	raw, ok := ext[extMCP]
	if !ok {
		return nil, nil
	}
	var v struct {
		Enabled *bool `json:"enabled"`
	}
	if err := decodeExt(raw, &v); err != nil || v.Enabled == nil {
		return nil, errors.New("want {enabled: true|false}")
	}
	return v.Enabled, nil
}

// middlewares reads x-tidegate-middlewares: [name, …].
func middlewares(ext map[string]any) ([]string, error) {
	raw, ok := ext[extMiddlewares]
	if !ok {
		return nil, nil
	}
	var names []string
	if err := decodeExt(raw, &names); err != nil {
		return nil, errors.New("want a list of middleware names")
	}
	for i, n := range names {
		if strings.TrimSpace(n) == "" {
			return nil, fmt.Errorf("[%d]: empty middleware name", i)
		}
	}
	return names, nil
}

// Dispatch dialects (Operation.DispatchDialect).
const (
	DialectOpenAI    = "openai"
	DialectAnthropic = "anthropic"
)

// dispatchModel reads x-tidegate-dispatch: {ai-proxy: {model: name,
// dialect: openai|anthropic}}; the dialect is "" when not given.
func dispatchModel(ext map[string]any) (string, string, error) {
	raw, ok := ext[extDispatch]
	if !ok {
		return "", "", nil
	}
	var v struct {
		AIProxy *struct {
			Model   string `json:"model"`
			Dialect string `json:"dialect"`
		} `json:"ai-proxy"`
	}
	if err := decodeExt(raw, &v); err != nil || v.AIProxy == nil {
		return "", "", errors.New("want {ai-proxy: {model: <name>}}")
	}
	if v.AIProxy.Model == "" {
		return "", "", errors.New("ai-proxy.model is empty")
	}
	switch v.AIProxy.Dialect {
	case "", DialectOpenAI, DialectAnthropic:
	default:
		return "", "", fmt.Errorf("ai-proxy.dialect %q: want openai or anthropic", v.AIProxy.Dialect)
	}
	return v.AIProxy.Model, v.AIProxy.Dialect, nil
}
