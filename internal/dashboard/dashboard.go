// Package dashboard serves tidegate's web dashboard under /dashboard: plain
// HTML, CSS and ES modules compiled into the binary (no CDN, no fonts from
// elsewhere: it works air-gapped), and /dashboard/api/me, the account view
// of a virtual key. Administrators log in with an admin key, which the
// browser keeps in sessionStorage and sends as Authorization: Bearer to the
// admin API; no cookie is ever set, so there is no CSRF surface.
package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/tidegate/tidegate/internal/govern"
	"github.com/tidegate/tidegate/internal/store"
)

//go:embed assets
var assets embed.FS

// Prefix is where the dashboard is mounted.
const Prefix = "/dashboard"

// CSP allows only the dashboard's own files: no inline script or style, no
// other origin, no framing.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Options configure the dashboard.
type Options struct {
	// Gate identifies virtual keys for /dashboard/api/me; nil: that
	// endpoint answers 404 (no key store).
	Gate  *govern.Gate
	Store store.Store
	// Models are the gateway's public model names (what /v1/models lists).
	Models []string
	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // default: discard
}

type handler struct {
	files map[string]asset
	opt   Options
}

// asset is an embedded file, read once, with an ETag from its content so
// that browsers revalidate cheaply.
type asset struct {
	data  []byte
	ctype string
	etag  string
}

// New returns the dashboard handler; mount it at Prefix and Prefix+"/".
func New(opt Options) http.Handler {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{files: map[string]asset{}, opt: opt}
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		h.files[strings.TrimPrefix(p, "assets/")] = asset{data: data, ctype: contentType(p),
			etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return h
}

// contentType is set here, not left to the host's MIME tables.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	}
	return "application/octet-stream"
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if rest == "/api/me" {
		h.me(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if rest == "" {
		http.Redirect(w, r, Prefix+"/", http.StatusMovedPermanently)
		return
	}
	name := strings.TrimPrefix(rest, "/")
	if name == "" {
		name = "index.html"
	}
	// Only the embedded files: no directory listings, no fallback page
	// for unknown paths (the pages are #fragments of index.html).
	a, ok := h.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hd.Set("Content-Type", a.ctype)
	hd.Set("ETag", a.etag)
	// Assets change with the binary: revalidate rather than cache stale.
	hd.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.data))
}
