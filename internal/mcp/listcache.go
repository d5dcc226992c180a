package mcp

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/tidwall/gjson"
)

// listCache serves tools/list from the bytes the SDK answered the first
// time, per protocol version: the tool list never changes while the
// gateway runs, and encoding a large one (the SDK compacts every schema
// on every answer) costs milliseconds. Anything that is not a plain
// first-page tools/list goes to the SDK.
type listCache struct {
	mu      sync.RWMutex
	results map[string][]byte // MCP-Protocol-Version header → the "result" JSON
}

const maxListRequest = 4 << 10 // a tools/list request is tiny; larger bodies go to the SDK untouched

// serve answers a request whose body the server read (peekBody) from the
// cache and reports true, or returns a writer that fills the cache from
// the SDK's answer.
func (c *listCache) serve(w http.ResponseWriter, r *http.Request, body []byte) (bool, http.ResponseWriter) {
	if len(body) > maxListRequest {
		return false, w
	}
	id, ok := plainToolsList(body)
	if !ok {
		return false, w
	}
	version := r.Header.Get("Mcp-Protocol-Version")
	c.mu.RLock()
	result := c.results[version]
	c.mu.RUnlock()
	if result == nil {
		return false, &listRecorder{ResponseWriter: w, cache: c, version: version}
	}
	writeResult(w, id, result)
	return true, w
}

// writeResult answers a JSON-RPC request with id and result (JSON).
func writeResult(w http.ResponseWriter, id string, result []byte) {
	out := make([]byte, 0, len(result)+len(id)+40)
	out = append(out, `{"jsonrpc":"2.0","id":`...)
	out = append(out, id...)
	out = append(out, `,"result":`...)
	out = append(out, result...)
	out = append(out, "}\n"...)
	writeJSON(w, out)
}

// writeJSON answers 200 with a JSON body.
func writeJSON(w http.ResponseWriter, out []byte) {
	w.Header().Set("Content-Type", "application/json")
	if len(out) > 2048 { // net/http sets a shorter one itself: its buffer holds the whole body
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// peekBody reads the body of a POST the SDK would accept, when its length
// is known and at most limit, and puts it back for the SDK; false when
// the request is not one the gateway answers itself.
func peekBody(r *http.Request, limit int64) ([]byte, bool) {
	if r.Method != http.MethodPost || !plainJSONPost(r) || r.ContentLength < 0 || r.ContentLength > limit {
		return nil, false
	}
	// A declared length is not yet data: a buffer beyond the first 4 KB
	// grows as the body arrives, so a caller cannot reserve a megabyte per
	// connection by announcing one.
	buf := bytes.NewBuffer(make([]byte, 0, min(r.ContentLength, 4096)))
	_, err := buf.ReadFrom(io.LimitReader(r.Body, r.ContentLength))
	body := buf.Bytes()
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
	return body, err == nil && int64(len(body)) == r.ContentLength
}

// plainJSONPost is what the SDK accepts for a POST: a JSON body, and an
// Accept naming both JSON and SSE.
func plainJSONPost(r *http.Request) bool {
	if ct := r.Header.Get("Content-Type"); ct != "application/json" { // the usual header, spared the parsing
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return false
		}
	}
	accept := strings.Join(r.Header.Values("Accept"), ",")
	return strings.Contains(accept, "application/json") && strings.Contains(accept, "text/event-stream")
}

// plainToolsList returns the id of a single tools/list request for the
// first page, and false for anything else.
func plainToolsList(body []byte) (string, bool) {
	if !gjson.ValidBytes(body) {
		return "", false
	}
	req := gjson.ParseBytes(body)
	if !req.IsObject() {
		return "", false
	}
	var id string
	ok := true
	req.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "jsonrpc":
			ok = v.Type == gjson.String && v.Str == "2.0"
		case "method":
			ok = v.Type == gjson.String && v.Str == "tools/list"
		case "id":
			ok = v.Type == gjson.Number || v.Type == gjson.String
			id = v.Raw
		case "params":
			ok = v.Type == gjson.Null || (v.IsObject() && !v.Get("cursor").Exists())
		default:
			ok = false
		}
		return ok
	})
	return id, ok && id != "" && req.Get("method").Str == "tools/list" && req.Get("jsonrpc").Str == "2.0"
}

// listRecorder passes the SDK's answer through and keeps its result when
// it is a whole, successful list.
type listRecorder struct {
	http.ResponseWriter
	cache   *listCache
	version string
	status  int
	buf     bytes.Buffer
}

func (l *listRecorder) WriteHeader(code int) {
	if l.status == 0 {
		l.status = code
	}
	l.ResponseWriter.WriteHeader(code)
}

func (l *listRecorder) Write(b []byte) (int, error) {
	if l.status == 0 {
		l.status = http.StatusOK
	}
	l.buf.Write(b)
	return l.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (l *listRecorder) Unwrap() http.ResponseWriter { return l.ResponseWriter }

// keep stores the recorded result (called after the SDK answered).
func (l *listRecorder) keep() {
	if l.status != http.StatusOK || !strings.HasPrefix(l.Header().Get("Content-Type"), "application/json") {
		return
	}
	res := gjson.GetBytes(l.buf.Bytes(), "result")
	if !res.IsObject() || res.Get("nextCursor").Exists() || !res.Get("tools").IsArray() {
		return
	}
	l.cache.mu.Lock()
	if l.cache.results == nil {
		l.cache.results = map[string][]byte{}
	}
	if len(l.cache.results) < 16 { // a handful of protocol versions; never grows with callers
		l.cache.results[l.version] = []byte(res.Raw)
	}
	l.cache.mu.Unlock()
}
