package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tidegate/tidegate/internal/config"
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

// ConfigService is the live configuration behind /admin/config.
type ConfigService interface {
	Current(ctx context.Context) (*ConfigView, error)
	// Put validates text, stores it as a new version by author and
	// applies it. An invalid config is an *InvalidConfigError.
	Put(ctx context.Context, text, author string) (*ConfigView, error)
	History(ctx context.Context, limit int, before int64) ([]ConfigChange, error)
	// Rollback makes version the newest again (as a new version);
	// store.ErrNotFound when there is no such version.
	Rollback(ctx context.Context, version int64, author string) (*ConfigView, error)
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
	case len(parts) == 3 && parts[1] == "rollback":
		return route{http.MethodPost: h.rollbackConfig}, parts[2]
	}
	return nil, ""
}

func (h *handler) getConfig(w http.ResponseWriter, r *http.Request, _ *call) {
	v, err := h.config.Current(r.Context())
	if err != nil {
		h.configError(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// putConfig takes the config as YAML, as a JSON object, or as
// {"yaml": "<text>"} (what GET returns, edited).
func (h *handler) putConfig(w http.ResponseWriter, r *http.Request, c *call) {
	data, err := io.ReadAll(r.Body) // bounded and read by ServeHTTP
	if err != nil {
		writeError(w, errf(http.StatusBadRequest, "invalid_request_error", "invalid_body", "cannot read the request body: "+err.Error()))
		return
	}
	text, aerr := configText(r.Header.Get("Content-Type"), data)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	v, err := h.config.Put(r.Context(), text, c.who.name)
	if err != nil {
		h.configError(w, r, err, "")
		return
	}
	h.log.Info("admin: config updated", "version", v.Version, "by", c.who.name)
	writeJSON(w, http.StatusOK, v)
}

// configText turns a PUT body into YAML text.
func configText(contentType string, data []byte) (string, *apiError) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if strings.TrimSpace(string(data)) == "" {
		return "", errf(http.StatusBadRequest, "invalid_request_error", "invalid_body", "the request body must be the config (YAML, or JSON with Content-Type: application/json)")
	}
	if mt != "application/json" {
		return string(data), nil
	}
	var wrapped struct {
		YAML *string `json:"yaml"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if dec.Decode(&wrapped) == nil && wrapped.YAML != nil {
		return *wrapped.YAML, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return "", errf(http.StatusBadRequest, "invalid_request_error", "invalid_json", "the request body is not a JSON object: "+err.Error())
	}
	// JSON is YAML: re-encode it in block style so history diffs read well.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return "", errf(http.StatusBadRequest, "invalid_request_error", "invalid_json", "the request body is not valid JSON: "+err.Error())
	}
	blockStyle(&doc)
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return "", errf(http.StatusBadRequest, "invalid_request_error", "invalid_json", "cannot convert the JSON to YAML: "+err.Error())
	}
	return string(out), nil
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
		h.configError(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": list})
}

func (h *handler) rollbackConfig(w http.ResponseWriter, r *http.Request, c *call) {
	n, err := strconv.ParseInt(c.id, 10, 64)
	if err != nil || n < 1 {
		writeError(w, invalid("version", "must be a version number, got %q", c.id))
		return
	}
	v, err := h.config.Rollback(r.Context(), n, c.who.name)
	if err != nil {
		h.configError(w, r, err, c.id)
		return
	}
	h.log.Info("admin: config rolled back", "to", n, "version", v.Version, "by", c.who.name)
	writeJSON(w, http.StatusOK, v)
}

func (h *handler) configError(w http.ResponseWriter, r *http.Request, err error, id string) {
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
