package openapi

import (
	"context"
)

// Lint checks the spec at path the way Compile does and returns every
// finding, one per entry: errors first ("error: …"; any error makes
// Compile fail), then warnings ("warning: …"). Errors are invalid
// documents, unresolvable or external $refs, duplicate tool names and
// malformed x-tidegate-* extensions; warnings are missing operationIds and
// descriptions, recursive schemas cut short, parts of operations a tool
// cannot carry (cookie parameters, non-JSON bodies).
func Lint(ctx context.Context, path string) []string {
	var out []string
	doc, err := Load(ctx, path)
	if err != nil {
		for _, e := range splitErrors(err) {
			out = append(out, "error: "+e.Error())
		}
		return out
	}
	c := newCompiler(doc)
	c.compile(ctx)
	for _, e := range c.errs {
		out = append(out, "error: "+path+": "+e.Error())
	}
	for _, w := range c.warnings {
		out = append(out, "warning: "+path+": "+w)
	}
	return out
}
