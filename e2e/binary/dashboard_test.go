package binary_test

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/testbinary"
)

// TestDashboard checks that the real binary carries the dashboard's files
// (embedded at build time) and serves them, with a store, under its CSP —
// and that the zero-config gateway has no dashboard.
func TestDashboard(t *testing.T) {
	bin.Need(t)
	const admin = "tg-admin-e2e-binary-dashboard-0123"
	addr := testbinary.FreeAddr(t)
	cfg := "listen: " + addr + "\nauth: keys\nstore: \"sqlite://" + filepath.Join(t.TempDir(), "tidegate.db") + "\"\n" +
		"admin_keys: [{name: e2e, key: " + admin + ", scope: admin}]\n" +
		"providers: {echo: {type: echo}}\nmodels: {echo: {provider: echo, model: echo}}\n"
	p := serve(t, testbinary.Env(t), addr, "--config", writeFile(t, "dash.yaml", cfg))

	for path, ctype := range map[string]string{"/dashboard/": "text/html; charset=utf-8", "/dashboard/app.js": "text/javascript; charset=utf-8", "/dashboard/app.css": "text/css; charset=utf-8"} {
		r := do(t, http.MethodGet, p.URL+path, "")
		if r.Status != 200 || r.Header.Get("Content-Type") != ctype || len(r.Body) == 0 {
			t.Errorf("%s: %d %q (%d bytes)", path, r.Status, r.Header.Get("Content-Type"), len(r.Body))
		}
		if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || r.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: CSP %q", path, csp)
		}
	}

	// A key holder's account, authenticated with the key itself.
	req, _ := http.NewRequest(http.MethodPost, p.URL+"/admin/keys", strings.NewReader(`{"name":"e2e","models":["echo"]}`))
	req.Header.Set("Authorization", "Bearer "+admin)
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ Key string }
	if err := json.NewDecoder(res.Body).Decode(&created); err != nil || res.StatusCode != 201 {
		t.Fatalf("create key: %d %v", res.StatusCode, err)
	}
	res.Body.Close()
	req, _ = http.NewRequest(http.MethodGet, p.URL+"/dashboard/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+created.Key)
	res, err = httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"models":["echo"]`) {
		t.Errorf("/dashboard/api/me: %d %s", res.StatusCode, body)
	}

	// Zero config: no store, no admin API, no dashboard.
	zaddr := testbinary.FreeAddr(t)
	z := serve(t, testbinary.Env(t, "TIDEGATE_LISTEN="+zaddr), zaddr)
	if r := do(t, http.MethodGet, z.URL+"/dashboard/", ""); r.Status != 404 {
		t.Errorf("zero-config /dashboard/: %s", r)
	}
}
