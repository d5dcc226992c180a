// Package benchspec writes the OpenAPI spec of the MCP load benchmark
// (bench/loadbench mcpspec) and of its in-process counterpart, so that
// both measure the same tool.
package benchspec

import (
	"bufio"
	"fmt"
	"io"
)

// Tool is the operation the benchmarks call: POST /orders/lookup with a
// JSON body validated against a schema, and an object answer returned as
// structuredContent.
const Tool = "lookupOrder"

// LookupPath is where Tool's request goes, below the API's base URL.
const LookupPath = "/orders/lookup"

// Write writes a spec of ops operations: Tool, and ops−1 generated GET
// operations with a path and an array query parameter, so that
// tools/list has a realistic size.
func Write(out io.Writer, ops int) error {
	w := bufio.NewWriter(out)
	fmt.Fprint(w, `openapi: 3.0.3
info: {title: Bench orders, version: "1"}
components:
  schemas:
    Order:
      type: object
      required: [id, item]
      properties:
        id: {type: integer}
        item: {type: string}
        quantity: {type: integer, minimum: 1}
paths:
  `+LookupPath+`:
    post:
      operationId: `+Tool+`
      summary: Look an order up by id
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, required: [id], properties: {id: {type: integer, minimum: 1}}}}}
      responses:
        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Order'}}}}
`)
	for i := 1; i < ops; i++ {
		fmt.Fprintf(w, `  /things/op%03d/{id}:
    get:
      operationId: op%03d
      summary: Operation %d of the benchmark spec
      description: A read of one thing, with a path and a query parameter.
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
        - {name: fields, in: query, schema: {type: array, items: {type: string}}}
      responses:
        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Order'}}}}
`, i, i, i)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("benchspec: %w", err)
	}
	return nil
}
