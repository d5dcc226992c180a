package dashboard

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func serve(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	h := New(Options{})
	mux.Handle(Prefix, h)
	mux.Handle(Prefix+"/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func fetch(t *testing.T, method, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

func TestAssetsAndHeaders(t *testing.T) {
	srv := serve(t)
	for _, c := range []struct{ path, ctype, contains string }{
		{"/dashboard/", "text/html; charset=utf-8", `<script type="module" src="app.js"></script>`},
		{"/dashboard/index.html", "text/html; charset=utf-8", "<title>tidegate</title>"},
		{"/dashboard/app.js", "text/javascript; charset=utf-8", "import "},
		{"/dashboard/chart.js", "text/javascript; charset=utf-8", "export function chart"},
		{"/dashboard/app.css", "text/css; charset=utf-8", ":root"},
		{"/dashboard/icon.svg", "image/svg+xml", "<svg"},
	} {
		res, body := fetch(t, "GET", srv.URL+c.path, nil)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", c.path, res.StatusCode)
		}
		h := res.Header
		if got := h.Get("Content-Type"); got != c.ctype {
			t.Errorf("%s: Content-Type %q, want %q", c.path, got, c.ctype)
		}
		if !strings.Contains(body, c.contains) {
			t.Errorf("%s: body lacks %q", c.path, c.contains)
		}
		if h.Get("Content-Security-Policy") != CSP || h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: security headers %v", c.path, h)
		}
		if h.Get("Set-Cookie") != "" {
			t.Errorf("%s: sets a cookie", c.path)
		}
		// Revalidation by ETag.
		etag := h.Get("ETag")
		if etag == "" {
			t.Fatalf("%s: no ETag", c.path)
		}
		if res, _ := fetch(t, "GET", srv.URL+c.path, map[string]string{"If-None-Match": etag}); res.StatusCode != http.StatusNotModified {
			t.Errorf("%s: If-None-Match gave %d", c.path, res.StatusCode)
		}
	}
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(CSP, want) {
			t.Errorf("CSP lacks %q", want)
		}
	}
	if strings.Contains(CSP, "unsafe-") || strings.Contains(CSP, "http") {
		t.Errorf("CSP allows inline code or another origin: %s", CSP)
	}

	res, _ := fetch(t, "GET", srv.URL+"/dashboard", nil)
	if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/dashboard/" {
		t.Errorf("/dashboard: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	// Unclean paths are redirected by ServeMux before the handler sees
	// them; the handler refuses them on its own too.
	for _, p := range []string{"/dashboard/../go.mod", "/dashboard//app.js", "/dashboard/./app.js", "/dashboardx/app.js"} {
		rec := httptest.NewRecorder()
		New(Options{}).ServeHTTP(rec, httptest.NewRequest("GET", "http://x"+p, nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("handler %s: %d, want 404", p, rec.Code)
		}
	}
	for _, p := range []string{"/dashboard/nope.js", "/dashboard/keys", "/dashboard/assets/app.js", "/dashboard/index.html/", "/dashboard/api/", "/dashboard/.hidden"} {
		res, _ := fetch(t, "GET", srv.URL+p, nil)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, res.StatusCode)
		}
		if res.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: 404 without CSP", p)
		}
	}
	// Without a key store there is no account to show.
	if res, body := fetch(t, "GET", srv.URL+"/dashboard/api/me", nil); res.StatusCode != http.StatusNotFound ||
		res.Header.Get("Content-Type") != "application/json" || !strings.Contains(body, `"type":"not_found_error"`) {
		t.Errorf("/dashboard/api/me without a store: %d %s", res.StatusCode, body)
	}
	if res, _ := fetch(t, "POST", srv.URL+"/dashboard/app.js", nil); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", res.StatusCode)
	}
	if res, body := fetch(t, "HEAD", srv.URL+"/dashboard/app.css", nil); res.StatusCode != 200 || body != "" {
		t.Errorf("HEAD: %d %q", res.StatusCode, body)
	}
}

// TestNoInlineCode checks every embedded page against what the CSP would
// block anyway (so a regression shows here, not as a blank page), and the
// scripts against the ways text could become markup or code.
func TestNoInlineCode(t *testing.T) {
	scriptTag := regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	inlineAttr := regexp.MustCompile(`(?i)\s(on[a-z]+|style)\s*=`)
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		text := string(data)
		switch {
		case strings.HasSuffix(p, ".html"):
			scripts := scriptTag.FindAllStringSubmatch(text, -1)
			if len(scripts) == 0 {
				t.Errorf("%s: no script", p)
			}
			for _, m := range scripts {
				if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
					t.Errorf("%s: inline script %q", p, m[0])
				}
			}
			if strings.Contains(strings.ToLower(text), "<style") || inlineAttr.MatchString(text) {
				t.Errorf("%s: inline style or event handler", p)
			}
			if strings.Contains(text, "http://") || strings.Contains(text, "https://") || strings.Contains(text, "//cdn") {
				t.Errorf("%s: refers to another origin", p)
			}
		case strings.HasSuffix(p, ".js"):
			text = strings.ReplaceAll(text, `"http://www.w3.org/2000/svg"`, "") // a namespace, not a fetch
			for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "localStorage", "document.cookie", "https://", "http://"} {
				if strings.Contains(text, bad) {
					t.Errorf("%s uses %s", p, bad)
				}
			}
		case strings.HasSuffix(p, ".css"):
			if strings.Contains(text, "@import") || strings.Contains(text, "url(http") {
				t.Errorf("%s loads from elsewhere", p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
