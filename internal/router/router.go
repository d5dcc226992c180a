// Package router turns a public model name into upstream targets and runs
// a request against them. It reads the first stream event before returning,
// so a failure before any byte reaches the caller is still an error the
// caller (or a fallback) can handle.
package router

import (
	"context"
	"errors"
	"io"
	"sort"
	"strings"

	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/llm"
)

// Target is one upstream model on one provider.
type Target struct {
	Provider llm.Provider
	Model    string // upstream model name
}

// Route is what a public model name resolves to.
type Route struct {
	Name    string
	Targets []Target
}

// Router resolves public model names. It is immutable once built.
type Router struct {
	exact     map[string]config.Model
	wildcards []string // prefixes, longest first
	providers map[string]llm.Provider
}

// New builds a router over validated config.
func New(models map[string]config.Model, providers map[string]llm.Provider) *Router {
	r := &Router{exact: make(map[string]config.Model, len(models)), providers: providers}
	for name, m := range models {
		if strings.HasSuffix(name, "*") {
			r.wildcards = append(r.wildcards, name)
		}
		r.exact[name] = m
	}
	sort.Slice(r.wildcards, func(i, j int) bool { return len(r.wildcards[i]) > len(r.wildcards[j]) })
	return r
}

// Resolve finds the route for a public model name: an exact name first,
// then the longest wildcard whose prefix matches (the rest of the name is
// the upstream model unless the entry names one).
func (r *Router) Resolve(name string) (*Route, bool) {
	if strings.Contains(name, "*") {
		return nil, false
	}
	if m, ok := r.exact[name]; ok && !strings.HasSuffix(name, "*") {
		return r.route(name, m, m.Model)
	}
	for _, w := range r.wildcards {
		prefix := strings.TrimSuffix(w, "*")
		if rest := strings.TrimPrefix(name, prefix); rest != name && rest != "" {
			m := r.exact[w]
			upstream := m.Model
			if upstream == "" {
				upstream = rest
			}
			return r.route(name, m, upstream)
		}
	}
	return nil, false
}

func (r *Router) route(name string, m config.Model, upstream string) (*Route, bool) {
	p, ok := r.providers[m.Provider]
	if !ok {
		return nil, false
	}
	return &Route{Name: name, Targets: []Target{{Provider: p, Model: upstream}}}, true
}

// Names lists the public model names that are not wildcards, sorted.
func (r *Router) Names() []string {
	var out []string
	for name := range r.exact {
		if !strings.HasSuffix(name, "*") {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Wildcards lists the wildcard entries with their provider names.
func (r *Router) Wildcards() map[string]string {
	out := make(map[string]string, len(r.wildcards))
	for _, w := range r.wildcards {
		out[w] = r.exact[w].Provider
	}
	return out
}

// Result is a started generation: the first event has been read.
type Result struct {
	Target   Target
	Attempts int
	First    llm.Event
	Stream   llm.Stream
}

// Chat runs req against the route's targets in order until one produces its
// first event. req is not modified; each attempt gets a shallow copy with
// the upstream model set.
func (r *Router) Chat(ctx context.Context, route *Route, req *llm.Request) (*Result, error) {
	var lastErr error
	for i, t := range route.Targets {
		attempt := *req
		attempt.Model = t.Model
		s, err := t.Provider.Chat(ctx, &attempt)
		if err == nil {
			var first llm.Event
			first, err = s.Next()
			if err == nil {
				return &Result{Target: t, Attempts: i + 1, First: first, Stream: s}, nil
			}
			s.Close()
			if errors.Is(err, io.EOF) {
				err = &llm.Error{Kind: llm.KindUpstream, Message: "upstream " + t.Provider.Name() + " sent an empty stream"}
			}
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

// Embed runs an embeddings request against the route's first target.
func (r *Router) Embed(ctx context.Context, route *Route, req *llm.EmbedRequest) (*llm.EmbedResponse, Target, error) {
	t := route.Targets[0]
	attempt := *req
	attempt.Model = t.Model
	resp, err := t.Provider.Embed(ctx, &attempt)
	return resp, t, err
}
