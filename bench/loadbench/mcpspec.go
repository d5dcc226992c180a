package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
)

// The MCP scenarios' API: lookupOrder (POST /orders/lookup with a JSON
// body, answered by the fake upstream) and as many more operations as
// -ops asks for, so that tools/list has a realistic size.
const (
	mcpTool      = "lookupOrder"
	mcpLookupURL = "/api/orders/lookup" // below the fake upstream's base
)

// runMCPSpec writes the OpenAPI spec of the MCP scenarios to -out.
func runMCPSpec(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("mcpspec", flag.ContinueOnError)
	ops := fs.Int("ops", 500, "operations in the spec (lookupOrder included)")
	out := fs.String("out", "", "file to write (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *ops < 1 || *ops > 100_000 {
		return errors.New("mcpspec: -out FILE and -ops 1..100000 are required")
	}
	f, err := os.Create(*out)
	if err != nil {
		return fmt.Errorf("mcpspec: %w", err)
	}
	w := bufio.NewWriter(f)
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
  /orders/lookup:
    post:
      operationId: lookupOrder
      summary: Look an order up by id
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, required: [id], properties: {id: {type: integer, minimum: 1}}}}}
      responses:
        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Order'}}}}
`)
	for i := 1; i < *ops; i++ {
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
		f.Close()
		return fmt.Errorf("mcpspec: %w", err)
	}
	return f.Close()
}
