package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/store"
)

// ConfigView is the running configuration as GET /admin/config shows it.
type ConfigView struct {
	Version   int64      `json:"version"` // 0: not from the store (no version yet)
	Author    string     `json:"author"`
	Source    string     `json:"source,omitempty"`
	CreatedAt *time.Time `json:"created_at"`
	YAML      string     `json:"yaml"`   // as written, secrets masked
	Config    any        `json:"config"` // effective (expanded, env overrides, defaults), secrets masked
}

// ConfigChange is one entry of GET /admin/config/history.
type ConfigChange struct {
	Version   int64     `json:"version"`
	Author    string    `json:"author"`
	Source    string    `json:"source"`
	CreatedAt time.Time `json:"created_at"`
	Hash      string    `json:"hash"`
	// Diff is a unified diff of the masked YAML from the previous version.
	Diff string `json:"diff"`
}

// ConfigCheck is a dry run's answer: the config would be accepted.
type ConfigCheck struct {
	Valid       bool     `json:"valid"`        // always true: a refused config is an error
	FromVersion int64    `json:"from_version"` // the version the change was made from (else the running one)
	Changed     bool     `json:"changed"`      // false: storing it would be a no-op
	Diff        string   `json:"diff"`         // unified diff from FromVersion, secrets masked
	Warnings    []string `json:"warnings"`     // the OpenAPI specs' warnings (tidegate lint's)
}

// ConfigService is the live configuration behind /admin/config.
type ConfigService interface {
	Current(ctx context.Context) (*ConfigView, error)
	// Put validates text, stores it as a new version by author and
	// applies it. An invalid config is an *InvalidConfigError. Unless after
	// is store.AnyVersion, text was made from version after, and it is
	// stored only while that is the newest (*store.VersionConflictError
	// otherwise); its masked secrets are then restored from that version.
	Put(ctx context.Context, text, author string, after int64) (*ConfigView, error)
	// Check is Put's validation and precondition without storing or
	// serving anything.
	Check(ctx context.Context, text string, after int64) (*ConfigCheck, error)
	History(ctx context.Context, limit int, before int64) ([]ConfigChange, error)
	// Version shows one stored version (store.ErrNotFound when there is
	// none); Config is nil when it no longer validates here.
	Version(ctx context.Context, version int64) (*ConfigView, error)
	// Rollback makes version the newest again (as a new version), under
	// the same condition on after as Put; store.ErrNotFound when there is
	// no such version.
	Rollback(ctx context.Context, version int64, author string, after int64) (*ConfigView, error)
}

// InvalidConfigError is a config that failed validation: a 400.
type InvalidConfigError struct{ Err error }

func (e *InvalidConfigError) Error() string { return e.Err.Error() }
func (e *InvalidConfigError) Unwrap() error { return e.Err }

func (h *handler) configRoute(parts []string) (route, string) {
	if h.config == nil {
		return nil, ""
	}
	switch {
	case len(parts) == 1:
		return route{http.MethodGet: h.getConfig, http.MethodPut: h.putConfig}, ""
	case len(parts) == 2 && parts[1] == "history":
		return route{http.MethodGet: h.configHistory}, ""
	case len(parts) == 3 && parts[1] == "history":
		return route{http.MethodGet: h.configVersion}, parts[2]
	case len(parts) == 3 && parts[1] == "rollback":
		return route{http.MethodPost: h.rollbackConfig}, parts[2]
	}
	return nil, ""
}

func (h *handler) getConfig(w http.ResponseWriter, r *http.Request, _ *call) {
	v, err := h.config.Current(r.Context())
	if err != nil {
		h.configError(w, r, err, "", false)
		return
	}
	writeConfigView(w, v)
}

// writeConfigView answers with v and its version as the entity tag, which
// a later PUT or rollback can send back in If-Match.
func writeConfigView(w http.ResponseWriter, v *ConfigView) {
	w.Header().Set("ETag", versionTag(v.Version))
	writeJSON(w, http.StatusOK, v)
}

func versionTag(v int64) string { return `"` + strconv.FormatInt(v, 10) + `"` }

// ifMatch reads the version an If-Match header names: store.AnyVersion
// when there is none or it is "*".
func ifMatch(r *http.Request) (int64, *apiError) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return store.AnyVersion, nil
	}
	tag := strings.TrimPrefix(h, "W/")
	if n, err := strconv.ParseInt(strings.Trim(tag, `"`), 10, 64); err == nil && n >= 0 && len(tag) > 2 && tag[0] == '"' && tag[len(tag)-1] == '"' {
		return n, nil
	}
	return 0, errf(http.StatusBadRequest, "invalid_request_error", "invalid_header", `If-Match must be one config version as GET /admin/config's ETag gives it (e.g. "7"), or *; got `+strconv.Quote(h))
}

// putConfig takes the config as YAML, as a JSON object, or as
// {"yaml": "<text>", "version": N} (what GET returns, edited). With
// ?dry_run=true it only checks it.
func (h *handler) putConfig(w http.ResponseWriter, r *http.Request, c *call) {
	data, err := io.ReadAll(r.Body) // bounded and read by ServeHTTP
	if err != nil {
		writeError(w, errf(http.StatusBadRequest, "invalid_request_error", "invalid_body", "cannot read the request body: "+err.Error()))
		return
	}
	header, aerr := ifMatch(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	dry, aerr := boolParam(r, "dry_run")
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	text, body, aerr := configText(r.Header.Get("Content-Type"), data)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	after := header
	if body != store.AnyVersion {
		if header != store.AnyVersion && header != body {
			writeError(w, invalid("version", "is %d but If-Match names version %d; send one of them", body, header))
			return
		}
		after = body
	}
	if dry {
		check, err := h.config.Check(r.Context(), text, after)
		if err != nil {
			h.configError(w, r, err, "", header != store.AnyVersion)
			return
		}
		writeJSON(w, http.StatusOK, check)
		return
	}
	v, err := h.config.Put(r.Context(), text, c.who.name, after)
	if err != nil {
		h.configError(w, r, err, "", header != store.AnyVersion)
		return
	}
	h.log.Info("admin: config updated", "version", v.Version, "by", c.who.name)
	writeConfigView(w, v)
}

// viewFields are the keys of a ConfigView besides yaml: a PUT of what GET
// returned carries them, and only version means something there.
var viewFields = map[string]bool{"version": true, "author": true, "source": true, "created_at": true, "config": true}

// configText turns a PUT body into YAML text, and the version it was made
// from when the body says (store.AnyVersion otherwise).
func configText(contentType string, data []byte) (string, int64, *apiError) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if strings.TrimSpace(string(data)) == "" {
		return "", 0, errf(http.StatusBadRequest, "invalid_request_error", "invalid_body", "the request body must be the config (YAML, or JSON with Content-Type: application/json)")
	}
	if mt != "application/json" {
		return string(data), store.AnyVersion, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return "", 0, errf(http.StatusBadRequest, "invalid_request_error", "invalid_json", "the request body is not a JSON object: "+err.Error())
	}
	if raw, ok := obj["yaml"]; ok { // a config has no key "yaml": this is a view
		return viewText(obj, raw)
	}
	// JSON is YAML: re-encode it in block style so history diffs read well.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return "", 0, errf(http.StatusBadRequest, "invalid_request_error", "invalid_json", "the request body is not valid JSON: "+err.Error())
	}
	blockStyle(&doc)
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return "", 0, errf(http.StatusBadRequest, "invalid_request_error", "invalid_json", "cannot convert the JSON to YAML: "+err.Error())
	}
	return string(out), store.AnyVersion, nil
}

// viewText reads {"yaml": …, "version": N, …} as GET returns it.
func viewText(obj map[string]json.RawMessage, raw json.RawMessage) (string, int64, *apiError) {
	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		return "", 0, invalid("yaml", "must be the config as a YAML string")
	}
	after := store.AnyVersion
	for k, v := range obj {
		switch {
		case k == "version":
			var n int64
			if err := json.Unmarshal(v, &n); err != nil || n < 0 {
				return "", 0, invalid("version", "must be the config version the change was made from, as GET /admin/config gives it")
			}
			after = n
		case k != "yaml" && !viewFields[k]:
			return "", 0, invalid(k, "unknown field: the body is {\"yaml\": …, \"version\": N} (as GET /admin/config returns it), or the config itself without a \"yaml\" key")
		}
	}
	return text, after, nil
}

func blockStyle(n *yaml.Node) {
	n.Style &^= yaml.FlowStyle
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		n.Style &^= yaml.DoubleQuotedStyle
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}

func (h *handler) configHistory(w http.ResponseWriter, r *http.Request, _ *call) {
	q := r.URL.Query()
	limit, before := 50, int64(0)
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, invalid("limit", "must be an integer from 1 to 1000"))
			return
		}
		limit = n
	}
	if s := q.Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			writeError(w, invalid("before", "must be a version number"))
			return
		}
		before = n
	}
	list, err := h.config.History(r.Context(), limit, before)
	if err != nil {
		h.configError(w, r, err, "", false)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": list})
}

// boolParam reads a true/false query parameter (absent: false).
func boolParam(r *http.Request, name string) (bool, *apiError) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, invalid(name, "must be true or false, got %q", s)
	}
	return b, nil
}

func (h *handler) configVersion(w http.ResponseWriter, r *http.Request, c *call) {
	n, err := strconv.ParseInt(c.id, 10, 64)
	if err != nil || n < 1 {
		writeError(w, invalid("version", "must be a version number, got %q", c.id))
		return
	}
	v, err := h.config.Version(r.Context(), n)
	if err != nil {
		h.configError(w, r, err, c.id, false)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (h *handler) rollbackConfig(w http.ResponseWriter, r *http.Request, c *call) {
	n, err := strconv.ParseInt(c.id, 10, 64)
	if err != nil || n < 1 {
		writeError(w, invalid("version", "must be a version number, got %q", c.id))
		return
	}
	after, aerr := ifMatch(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	v, err := h.config.Rollback(r.Context(), n, c.who.name, after)
	if err != nil {
		h.configError(w, r, err, c.id, true)
		return
	}
	h.log.Info("admin: config rolled back", "to", n, "version", v.Version, "by", c.who.name)
	writeConfigView(w, v)
}

// configError answers err; a version conflict is a 412 when the version
// came in If-Match (an HTTP precondition), else a 409.
func (h *handler) configError(w http.ResponseWriter, r *http.Request, err error, id string, fromHeader bool) {
	var vc *store.VersionConflictError
	if errors.As(err, &vc) {
		e := errf(http.StatusConflict, "conflict_error", "config_version_conflict",
			fmt.Sprintf("the configuration changed: this change was made from version %d, but the newest is version %d; GET /admin/config and apply the change to it", vc.After, vc.Newest))
		if fromHeader {
			e.Status = http.StatusPreconditionFailed
			w.Header().Set("ETag", versionTag(vc.Newest))
		}
		writeError(w, e)
		return
	}
	var inv *InvalidConfigError
	if errors.As(err, &inv) {
		e := errf(http.StatusBadRequest, "invalid_request_error", "invalid_config", inv.Error())
		var ve *config.ValidationError
		if errors.As(err, &ve) && len(ve.Problems) > 0 {
			e.Param, _, _ = strings.Cut(ve.Problems[0], ":")
		}
		writeError(w, e)
		return
	}
	h.storeError(w, r, err, "config version", id)
}
