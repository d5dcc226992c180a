package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/tidegate/tidegate/internal/benchspec"
)

// The MCP scenarios' API (internal/benchspec): lookupOrder (POST
// /orders/lookup with a JSON body, answered by the fake upstream) and as
// many more operations as -ops asks for, so that tools/list has a
// realistic size.
const (
	mcpTool      = benchspec.Tool
	mcpLookupURL = "/api" + benchspec.LookupPath // below the fake upstream's base
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
	if err := benchspec.Write(f, *ops); err != nil {
		f.Close()
		return fmt.Errorf("mcpspec: %w", err)
	}
	return f.Close()
}
