package server

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/router"
)

// passthroughPaths are the OpenAI API paths tidegate does not model but
// relays to an OpenAI-type provider as they are.
var passthroughPaths = []string{
	"/v1/images/", "/v1/files", "/v1/files/", "/v1/uploads", "/v1/uploads/",
	"/v1/moderations", "/v1/audio/", "/v1/batches", "/v1/batches/",
}

// ProviderHeader picks the provider of a passthrough request that has no
// model in a JSON body (multipart uploads, GET /v1/files, …).
const ProviderHeader = "x-tidegate-provider"

// forwardHeaders are the caller headers a passthrough sends upstream;
// credentials and hop-by-hop headers never are.
var forwardHeaders = []string{"Content-Type", "Accept", "Idempotency-Key", "OpenAI-Beta"}

// hopHeader reports the headers not copied from the upstream's answer.
func hopHeader(k string) bool {
	switch k {
	case "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Authenticate", "Trailer", "Te":
		return true
	}
	return false
}

// passthrough relays an OpenAI API request. The provider is the first
// OpenAI-type target of the body's model (JSON bodies; the model is
// replaced by the upstream one), else the provider named by the
// x-tidegate-provider header, else the only OpenAI-type provider. Other
// bodies stream through untouched, and so does every answer. There are
// no retries or fallbacks: such calls are not idempotent in general.
func (s *Server) passthrough(w http.ResponseWriter, r *http.Request) {
	c := openAIChat
	var body []byte
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	isJSON := mt == "application/json" && r.ContentLength != 0 && r.Method != http.MethodGet
	if isJSON {
		var ok bool
		if body, ok = s.readBody(w, r, c); !ok {
			return
		}
	}
	model := gjson.GetBytes(body, "model").Str
	in := &router.Input{Model: model, Path: r.URL.Path, Dialect: c.dialect, Header: r.Header,
		EstimatedTokens: router.EstimateTokens(body)}
	id, ok := s.identify(w, r, c, in)
	if !ok {
		return
	}
	var (
		fwd    llm.Forwarder
		target *router.Target
	)
	name := r.Header.Get(ProviderHeader)
	switch {
	case model != "" && name == "":
		route, err := s.opt.Router.Route(in)
		if err != nil {
			s.refused(w, id, model, err)
			s.writeError(w, c, err)
			return
		}
		for i := range route.Targets {
			if f, ok := route.Targets[i].Provider.(llm.Forwarder); ok {
				fwd, target = f, &route.Targets[i]
				break
			}
		}
		if fwd == nil {
			err := &llm.Error{Kind: llm.KindInvalidRequest, Param: "model", Code: "unsupported_model",
				Message: fmt.Sprintf("model %q is served by %s, which has no %s endpoint; it needs an OpenAI-type provider", model, providerNames(route), r.URL.Path)}
			s.refused(w, id, model, err)
			s.writeError(w, c, err)
			return
		}
		if body, err = sjson.SetBytes(body, "model", target.Model); err != nil {
			s.writeError(w, c, &llm.Error{Kind: llm.KindInvalidRequest, Message: "could not set the model", Err: err})
			return
		}
		req := llm.NewLazyRequest(llm.OpChat, model, false, false, llm.Source{Dialect: c.dialect, Body: body, Header: r.Header}, func(*llm.Request) error { return nil })
		ticket, ok := s.admit(w, r, c, id, in, route, req)
		if !ok {
			return
		}
		status := http.StatusBadGateway
		defer func() {
			s.settle(exchangeOf(w), ticket, &router.Result{Target: target}, &meter{known: true}, status, nil)
		}()
		status = s.forward(w, r, c, fwd, target.Provider.Name(), body)
		return
	case name != "":
		p, known := s.opt.Providers[name]
		if !known {
			s.writeError(w, c, &llm.Error{Kind: llm.KindInvalidRequest, Message: fmt.Sprintf("%s names no provider: %q", ProviderHeader, name)})
			return
		}
		if fwd, ok = p.(llm.Forwarder); !ok {
			s.writeError(w, c, &llm.Error{Kind: llm.KindInvalidRequest,
				Message: fmt.Sprintf("provider %q has no %s endpoint; it needs an OpenAI-type provider", name, r.URL.Path)})
			return
		}
	default:
		var names []string
		for n, p := range s.opt.Providers {
			if f, ok := p.(llm.Forwarder); ok {
				fwd, name = f, n
				names = append(names, n)
			}
		}
		if len(names) != 1 {
			sort.Strings(names)
			have := "none is configured"
			if len(names) > 1 {
				have = "there are " + strings.Join(names, ", ")
			}
			s.writeError(w, c, &llm.Error{Kind: llm.KindInvalidRequest, Message: fmt.Sprintf(
				"%s %s goes to an OpenAI-type provider (%s): send a JSON body with a model, or name the provider in the %s header",
				r.Method, r.URL.Path, have, ProviderHeader)})
			return
		}
	}
	s.forward(w, r, c, fwd, name, body)
}

// forward sends the request (body, or the caller's own stream when body
// is nil) and copies the answer as it comes. It returns the status.
func (s *Server) forward(w http.ResponseWriter, r *http.Request, c *caller, fwd llm.Forwarder, provider string, body []byte) int {
	fr := &llm.ForwardRequest{Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, "/v1"), RawQuery: r.URL.RawQuery,
		Header: http.Header{}, ContentLength: r.ContentLength}
	for _, h := range forwardHeaders {
		if v := r.Header.Values(h); len(v) > 0 {
			fr.Header[h] = v
		}
	}
	switch {
	case body != nil:
		fr.Body, fr.ContentLength = bytes.NewReader(body), int64(len(body))
	case r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody:
		fr.Body = r.Body
	}
	resp, err := fwd.Forward(r.Context(), fr)
	if err != nil {
		e := llm.AsError(err)
		s.writeError(w, c, e)
		return e.HTTPStatus()
	}
	defer resp.Body.Close()
	h := w.Header()
	for k, v := range resp.Header {
		if !hopHeader(k) {
			h[k] = v
		}
	}
	if resp.ContentLength >= 0 && h.Get("Content-Length") == "" {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	h.Set("x-tidegate-provider", provider)
	w.WriteHeader(resp.StatusCode)
	flusher, _ := w.(http.Flusher)
	buf := make([]byte, 32*1024)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				break
			}
			if flusher != nil {
				flusher.Flush() // audio and image streams reach the caller as they come
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			s.opt.Logger.Warn("passthrough body failed", "path", r.URL.Path, "provider", provider, "error", rerr)
			break
		}
	}
	return resp.StatusCode
}

func providerNames(route *router.Route) string {
	var names []string
	for _, t := range route.Targets {
		n := t.Provider.Name()
		if d := t.Provider.Dialect(); d != "" {
			n += " (" + string(d) + ")"
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}
