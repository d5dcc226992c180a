package binary_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/testbinary"
	"github.com/tidegate/tidegate/internal/testpg"
)

// Two real replicas share PostgreSQL; editors on each, all starting from
// the same version, PUT at once with If-Match: exactly one edit is stored,
// every other is a 412 naming the newest version, and both replicas serve
// the winner within a second.
func TestConcurrentConfigEditsAcrossReplicas(t *testing.T) {
	bin.Need(t)
	storeURL := testpg.Schema(t)
	const admin = "tg-admin-configedit-0123456789"
	base := fmt.Sprintf("store: %q\nadmin_keys:\n  - {name: ops, key: %s, scope: admin}\nproviders:\n  e: {type: echo}\nmodels:\n  echo: {provider: e, model: echo}\n", storeURL, admin)
	path := writeFile(t, "tidegate.yaml", base)
	replicas := make([]*testbinary.Process, 2)
	for i := range replicas {
		addr := testbinary.FreeAddr(t)
		replicas[i] = serve(t, testbinary.Env(t, "TIDEGATE_LISTEN="+addr), addr, "--config", path)
	}
	call := func(method, url, ifMatch, body string) response {
		h := http.Header{"Authorization": {"Bearer " + admin}, "Content-Type": {"application/yaml"}}
		if ifMatch != "" {
			h.Set("If-Match", ifMatch)
		}
		return doWith(t, method, url, h, body)
	}
	get := call("GET", replicas[0].URL+"/admin/config", "", "")
	etag := get.Header.Get("ETag")
	if get.Status != 200 || etag != `"1"` {
		t.Fatalf("GET: %s ETag %q", get, etag)
	}

	const editors = 8
	results := make([]response, editors)
	var wg sync.WaitGroup
	for i := range editors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			text := base + fmt.Sprintf("aliases:\n  editor%d: echo\n", i)
			req, _ := http.NewRequest("PUT", replicas[i%2].URL+"/admin/config", strings.NewReader(text))
			req.Header.Set("Authorization", "Bearer "+admin)
			req.Header.Set("If-Match", etag)
			resp, err := httpClient.Do(req) // not call: t.Fatal belongs to the test's goroutine
			if err != nil {
				t.Errorf("editor %d: %v", i, err)
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			results[i] = response{resp.StatusCode, resp.Header, body}
		}()
	}
	wg.Wait()
	winner := -1
	for i, r := range results {
		switch {
		case r.Status == 200:
			if winner >= 0 {
				t.Fatalf("editors %d and %d both stored an edit of version 1", winner, i)
			}
			winner = i
		case r.Status == 412 && strings.Contains(string(r.Body), "config_version_conflict") && r.Header.Get("ETag") == `"2"`:
		default:
			t.Fatalf("editor %d: %s ETag %q", i, r, r.Header.Get("ETag"))
		}
	}
	if winner < 0 {
		t.Fatal("no edit was stored")
	}
	// Both replicas serve the winner's alias, and only it, within a second.
	deadline := time.Now().Add(time.Second)
	for _, g := range replicas {
		for {
			r := do(t, "POST", g.URL+"/v1/chat/completions", chatBody(fmt.Sprintf("editor%d", winner), false))
			if r.Status == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s does not serve the stored edit a second later: %s", g.URL, r)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if r := do(t, "POST", g.URL+"/v1/chat/completions", chatBody(fmt.Sprintf("editor%d", (winner+1)%editors), false)); r.Status != 404 {
			t.Fatalf("%s serves a refused edit: %s", g.URL, r)
		}
	}
	if r := call("GET", replicas[1].URL+"/admin/config/history", "", ""); r.Status != 200 || strings.Count(string(r.Body), `"version"`) != 2 {
		t.Fatalf("history: %s", r)
	}
}
