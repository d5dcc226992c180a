package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// lintSpec has every spec problem lint must name: a missing operationId
// and description (warnings), a duplicate tool name, an invalid regex
// pattern and an invalid schema (errors).
const lintSpec = `
openapi: 3.0.3
info: {title: Lint, version: "1"}
paths:
  /a:
    get:
      operationId: dup
      responses: {'200': {description: ok}}
  /b:
    get:
      operationId: dup
      responses: {'200': {description: ok}}
  /c:
    get:
      parameters: [{name: code, in: query, schema: {type: string, pattern: "([a-z"}}]
      responses: {'200': {description: ok}}
  /d:
    post:
      operationId: createD
      requestBody: {content: {application/json: {schema: {type: object, properties: {n: {type: integr}}}}}}
      responses: {'200': {description: ok}}
`

// danglingSpec has an unresolvable $ref (which stops kin-openapi's
// loader before anything else is checked, hence its own file).
const danglingSpec = `
openapi: 3.0.3
info: {title: Dangling, version: "1"}
paths:
  /a:
    get:
      operationId: a
      responses: {'200': {$ref: '#/components/responses/Missing'}}
`

const goodSpec = `
openapi: 3.1.0
info: {title: Things, version: "1"}
paths:
  /things/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      x-tidegate-middlewares: [per_user]
      responses: {'200': {description: ok}}
`

func writeLintFiles(t *testing.T, config string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "tidegate.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type lintReport struct {
	OK       bool `json:"ok"`
	Findings []struct {
		Level, Path, Message string
	} `json:"findings"`
}

func lintJSON(t *testing.T, path string) (lintReport, error) {
	t.Helper()
	out, err := run(t, "lint", "--config", path, "--format", "json")
	var r lintReport
	if jerr := json.Unmarshal([]byte(out), &r); jerr != nil {
		t.Fatalf("not JSON (%v):\n%s", jerr, out)
	}
	return r, err
}

func TestLintJSON(t *testing.T) {
	// Everything past config validation: CEL, targets, specs, profiles.
	path := writeLintFiles(t, `
providers:
  echo: {type: echo}
models:
  echo: {provider: echo, model: echo}
targets:
  premium: {provider: echo, model: echo}
policies:
  - {when: 'model ==', target: premium}
  - {when: 'true', target: nowhere}
middlewares:
  per_user: {rate_limit: {rpm: 5, partition: jwt.sub}}
apis:
  broken: {spec: broken.yaml, upstream: "http://127.0.0.1:9"}
  dangling: {spec: dangling.yaml, upstream: "http://127.0.0.1:9"}
  things:
    spec: good.yaml
    upstream: "http://127.0.0.1:9"
    policies: [{when: 'jwt.claims.sub ==', deny: x}]
`, map[string]string{"broken.yaml": lintSpec, "dangling.yaml": danglingSpec, "good.yaml": goodSpec})
	r, err := lintJSON(t, path)
	if err == nil || r.OK {
		t.Fatalf("want a failure, got ok=%v err=%v", r.OK, err)
	}
	var lines []string
	for _, f := range r.Findings {
		if f.Level != "error" && f.Level != "warning" {
			t.Errorf("level %q", f.Level)
		}
		lines = append(lines, f.Level+" | "+f.Path+" | "+f.Message)
	}
	all := strings.Join(lines, "\n")
	for _, want := range []string{
		"error | policies[0].when | invalid CEL",
		`error | policies[1].target | unknown target "nowhere"`,
		"error | apis.broken.spec | ",      // the spec's own errors, each on its own finding
		`have the same operation id "dup"`, // duplicate tool names
		`error | apis.dangling.spec | `,    // the unresolvable $ref
		"#/components/responses/Missing",
		"error parsing regexp: missing closing ]", // the invalid regex
		"integr", // the invalid schema
		"error | apis.things.policies[0].when | invalid CEL",
		`error | apis.things.spec | GET /things/{id}`, // per_user is partitioned by jwt.sub, things is passthrough
		"use auth: jwt",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in:\n%s", want, all)
		}
	}
	if t.Failed() {
		return
	}

	// Warnings only: ok, exit 0.
	path = writeLintFiles(t, `
apis:
  things: {spec: good.yaml, upstream: "http://127.0.0.1:9"}
middlewares:
  per_user: {rate_limit: {rpm: 5}}
`, map[string]string{"good.yaml": goodSpec})
	r, err = lintJSON(t, path)
	if err != nil || !r.OK || len(r.Findings) == 0 {
		t.Fatalf("warnings only: ok=%v err=%v %+v", r.OK, err, r.Findings)
	}
	if !slices.ContainsFunc(r.Findings, func(f struct{ Level, Path, Message string }) bool {
		return f.Level == "warning" && f.Path == "apis.things.spec" && strings.Contains(f.Message, "operationId")
	}) {
		t.Fatalf("no missing-operationId warning: %+v", r.Findings)
	}

	// Config-level problems: unknown providers, each with its path.
	path = writeLintFiles(t, "models:\n  m1: {provider: nope, model: x}\nlisten: 0.0.0.0:1\n", nil)
	r, err = lintJSON(t, path)
	if err == nil || r.OK || !slices.ContainsFunc(r.Findings, func(f struct{ Level, Path, Message string }) bool {
		return f.Path == "models.m1.provider" && f.Message == `unknown provider "nope"`
	}) {
		t.Fatalf("config problems: %v %+v", err, r.Findings)
	}

	// Config problems do not hide the specs' own: both are reported (and
	// a spec that is itself a config problem only once).
	path = writeLintFiles(t, `
models:
  m1: {provider: nope, model: x}
apis:
  broken: {spec: broken.yaml, upstream: "http://127.0.0.1:9"}
  things: {spec: good.yaml, upstream: "http://127.0.0.1:9"}
  gone: {spec: gone.yaml, upstream: "http://127.0.0.1:9"}
`, map[string]string{"broken.yaml": lintSpec, "good.yaml": goodSpec})
	r, err = lintJSON(t, path)
	count := map[string]int{}
	for _, f := range r.Findings {
		count[f.Level+" "+f.Path]++
	}
	if err == nil || r.OK || count["error models.m1.provider"] != 1 || count["error apis.broken.spec"] < 2 ||
		count["warning apis.things.spec"] == 0 || count["error apis.gone.spec"] != 1 {
		t.Fatalf("config and spec problems: %v %v %+v", err, count, r.Findings)
	}

	// A YAML error is one finding without a path.
	path = writeLintFiles(t, "provders: {}\n", nil)
	if r, err = lintJSON(t, path); err == nil || len(r.Findings) != 1 || !strings.Contains(r.Findings[0].Message, "provders") {
		t.Fatalf("yaml error: %v %+v", err, r.Findings)
	}

	// Text output has the same findings.
	out, err := run(t, "lint", "--config", path)
	if err == nil || !strings.HasPrefix(out, "error: ") {
		t.Fatalf("text: %v %s", err, out)
	}
	if _, err := run(t, "lint", "--config", path, "--format", "xml"); err == nil || !strings.Contains(err.Error(), "unknown format") {
		t.Fatalf("bad format: %v", err)
	}
}
