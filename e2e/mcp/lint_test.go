package mcp_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/app"
	"github.com/tidegate/tidegate/internal/config"
)

// writeConfig writes files and a config beside them and loads it.
func writeConfig(t *testing.T, yaml string, files map[string]string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "tidegate.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestLintAndInvalidSpecs(t *testing.T) {
	const noIDs = `
openapi: 3.1.0
info: {title: Lint, version: "1"}
paths:
  /things/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {'200': {description: ok}}
`
	cfg := writeConfig(t, `
apis:
  things: {spec: things.yaml, upstream: "http://127.0.0.1:9"}
`, map[string]string{"things.yaml": noIDs})
	warnings, err := app.Lint(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) == 0 || !strings.HasPrefix(warnings[0], "apis.things.spec: ") || !strings.Contains(strings.Join(warnings, "\n"), "operationId") {
		t.Fatalf("warnings %q", warnings)
	}

	bad := writeConfig(t, `
apis:
  good: {spec: things.yaml, upstream: "http://127.0.0.1:9"}
  broken: {spec: broken.yaml, upstream: "http://127.0.0.1:9"}
  notapi: {spec: notapi.yaml, upstream: "http://127.0.0.1:9"}
`, map[string]string{
		"things.yaml": noIDs,
		"broken.yaml": "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get:\n      responses: {'200': {$ref: '#/components/responses/Missing'}}\n",
		"notapi.yaml": "swagger: '2.0'\n",
	})
	_, err = app.Lint(bad)
	if err == nil || !strings.Contains(err.Error(), "apis.broken.spec: ") || !strings.Contains(err.Error(), "apis.notapi.spec: ") || strings.Contains(err.Error(), "apis.good") {
		t.Fatalf("lint: %v", err)
	}
	if _, err := app.New(context.Background(), bad, "test", slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "apis.broken.spec") {
		t.Fatalf("an invalid spec must stop the gateway: %v", err)
	}
}
