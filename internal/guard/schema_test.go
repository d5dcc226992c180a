package guard

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/tidegate/tidegate/internal/llm"
)

func openAISchemaBody(schema string) []byte {
	return []byte(`{"model":"m","messages":[],"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":` + schema + `}}}`)
}

// TestRequestSchemasCached: the policies of one Set compile a schema
// once; what they return still validates answers, and a schema that does
// not compile stays the caller's error every time.
func TestRequestSchemasCached(t *testing.T) {
	s, err := New(parse(t, `
guardrails:
  json: {pii: off, secrets: off, schema: {}}
  other: {pii: off, secrets: off, schema: {retry: true}}
providers: {e: {type: echo}}
models:
  m: {provider: e, model: echo, guardrails: [json]}
  n: {provider: e, model: echo, guardrails: [json, other]}
`))
	if err != nil {
		t.Fatal(err)
	}
	pm, _ := s.Resolve("m")
	pn, _ := s.Resolve("n")
	body := schemaBody()
	first, err := pm.RequestSchemas(llm.DialectOpenAI, body)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := pm.RequestSchemas(llm.DialectOpenAI, body)
	other, _ := pn.RequestSchemas(llm.DialectOpenAI, body)
	if first.output == nil || len(first.tools) != 8 {
		t.Fatalf("schemas: %+v", first)
	}
	if again.output != first.output || other.output != first.output || again.tools["tool_3"] != first.tools["tool_3"] {
		t.Error("the same schemas were compiled again")
	}
	// The eight tools have one schema text: compiled once, shared.
	if first.tools["tool_0"] != first.tools["tool_7"] {
		t.Error("identical tool schemas compiled twice")
	}
	if err := again.Check(`{"title":"t","risk":"low","steps":[{"id":1,"action":"ship"}]}`, nil); err != nil {
		t.Errorf("valid answer: %v", err)
	}
	if err := again.Check(`{"title":"t","risk":"none","steps":[]}`, nil); err == nil || !strings.Contains(err.Error(), "at /risk: enum") {
		t.Errorf("invalid answer: %v", err)
	}

	for range 2 {
		_, err := pm.RequestSchemas(llm.DialectOpenAI, openAISchemaBody(`{"type":"object","minProperties":"two"}`))
		var e *llm.Error
		if !errors.As(err, &e) || e.Kind != llm.KindInvalidRequest || !strings.Contains(e.Message, "the response format's schema is not a valid JSON Schema") {
			t.Errorf("invalid schema: %v", err)
		}
	}
	if s.schemas.cur == nil || len(s.schemas.cur) != 2 {
		t.Errorf("cache holds %d schemas, want the 2 that compiled", len(s.schemas.cur))
	}
}

// TestSchemaCacheBounded: the cache keeps two generations of at most
// schemaCacheEntries schemas; a schema used from the old one moves back
// to the current one, the others are dropped with it.
func TestSchemaCacheBounded(t *testing.T) {
	c := &schemaCache{}
	schema := func(i int) string { return fmt.Sprintf(`{"type":"object","maxProperties":%d}`, i) }
	compile := func(i int) {
		t.Helper()
		if _, err := c.compile(schema(i), "s"); err != nil {
			t.Fatal(err)
		}
	}
	first, _ := c.compile(schema(0), "s")
	for i := 1; i < schemaCacheEntries+10; i++ {
		compile(i)
	}
	if len(c.cur) != 10 || len(c.old) != schemaCacheEntries {
		t.Fatalf("generations of %d and %d", len(c.cur), len(c.old))
	}
	if s, _ := c.compile(schema(0), "s"); s != first {
		t.Error("a schema of the old generation was compiled again")
	}
	for i := schemaCacheEntries + 10; i < 3*schemaCacheEntries; i++ {
		compile(i)
	}
	if len(c.cur)+len(c.old) > 2*schemaCacheEntries {
		t.Errorf("cache holds %d schemas", len(c.cur)+len(c.old))
	}
	if s, _ := c.compile(schema(0), "s"); s == first {
		t.Error("a schema unused for two generations was kept")
	}
	huge := `{"description":"` + strings.Repeat("x", schemaCacheBytes) + `"}`
	compile(1)
	n := len(c.cur)
	if _, err := c.compile(huge, "s"); err != nil || len(c.cur) != n {
		t.Errorf("a schema of %d bytes was cached (%v)", len(huge), err)
	}
}

// TestSchemaCacheConcurrent runs requests with a few schemas from many
// goroutines (go test -race).
func TestSchemaCacheConcurrent(t *testing.T) {
	p := &Policy{schemas: &schemaCache{}}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				body := openAISchemaBody(fmt.Sprintf(`{"type":"object","required":["k%d"]}`, (g+i)%5))
				s, err := p.RequestSchemas(llm.DialectOpenAI, body)
				if err != nil {
					t.Error(err)
					return
				}
				if err := s.Check(fmt.Sprintf(`{"k%d":1}`, (g+i)%5), nil); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
