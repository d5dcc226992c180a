package mcp

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/openapi"
)

// fastCallVersion reports the protocol revisions whose plain tools/call
// the gateway answers itself. A stateless SDK handler builds and
// initialises a throwaway session for every POST, which costs far more
// than the call's own work; a tools/call needs none of it. Anything else
// (other versions, batches, _meta, unknown tools) goes to the SDK.
func fastCallVersion(v string) bool {
	return v == "2025-03-26" || v == "2025-06-18" || v == "2025-11-25"
}

// maxFastCall bounds the body the gateway reads before the SDK; larger
// requests go to the SDK, which applies MaxBodyBytes itself.
const maxFastCall = 1 << 20

// fastCall answers a plain tools/call (body as peekBody read it) and
// reports true, or reports false for the SDK to answer.
func (s *Server) fastCall(w http.ResponseWriter, r *http.Request, body []byte, reqID string) bool {
	if !fastCallVersion(r.Header.Get("Mcp-Protocol-Version")) {
		return false
	}
	id, name, args, ok := plainToolsCall(body)
	if !ok {
		return false
	}
	t := s.tools[name]
	if t == nil {
		return false // the SDK's "unknown tool" error
	}
	res := s.callTool(r.Context(), t, args, r.Header, reqID)
	var out bytes.Buffer
	out.Grow(2*len(res.text) + len(res.structured) + 64)
	out.WriteString(`{"jsonrpc":"2.0","id":`)
	out.WriteString(id)
	out.WriteString(`,"result":`)
	if err := res.encode(&out); err != nil {
		return false // cannot happen: results are built from JSON-safe values
	}
	out.WriteString("}\n")
	writeJSON(w, out.Bytes())
	return true
}

// plainToolsCall returns the id, tool name and arguments of a single
// tools/call request with nothing else in it.
func plainToolsCall(body []byte) (id, name string, args json.RawMessage, ok bool) {
	if !gjson.ValidBytes(body) {
		return "", "", nil, false
	}
	req := gjson.ParseBytes(body)
	if !req.IsObject() {
		return "", "", nil, false
	}
	var method, version string
	ok = true
	req.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "jsonrpc":
			version, ok = v.Str, v.Type == gjson.String
		case "method":
			method, ok = v.Str, v.Type == gjson.String
		case "id":
			id, ok = v.Raw, v.Type == gjson.Number || v.Type == gjson.String
		case "params":
			ok = v.IsObject()
			v.ForEach(func(pk, pv gjson.Result) bool {
				switch pk.Str {
				case "name":
					name, ok = pv.Str, pv.Type == gjson.String
				case "arguments":
					ok = pv.IsObject() || pv.Type == gjson.Null
					if pv.IsObject() {
						args = json.RawMessage(pv.Raw)
					}
				default:
					ok = false // _meta (progress tokens, …) and anything new: the SDK's job
				}
				return ok
			})
		default:
			ok = false
		}
		return ok
	})
	return id, name, args, ok && id != "" && name != "" && method == "tools/call" && version == "2.0"
}

// toolIndex maps tool names to tools.
func toolIndex(tools []*openapi.Tool) map[string]*openapi.Tool {
	m := make(map[string]*openapi.Tool, len(tools))
	for _, t := range tools {
		m[t.Name] = t
	}
	return m
}
