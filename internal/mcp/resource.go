package mcp

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/tidegate/tidegate/internal/apigw"
	"github.com/tidegate/tidegate/internal/llm"
)

// wellKnown is where protected resource metadata is served, before the
// resource's path (RFC 9728 §3.1).
const wellKnown = "/.well-known/oauth-protected-resource"

// Resource is an auth: jwt MCP endpoint as an OAuth 2.0 protected
// resource: it publishes its metadata (RFC 9728) and points its 401s to
// it, so that MCP clients discover where to get a token on their own.
type Resource struct {
	// URL is the endpoint's canonical URL, whose path is Path; "" derives it
	// from each request's scheme and Host.
	URL string
	// Path is the endpoint's path (mcp.path).
	Path string
	// AuthorizationServers are the issuers clients get tokens from.
	AuthorizationServers []string
	// Scopes are advertised in the metadata and the 401's challenge.
	Scopes []string
	// Name is the resource_name shown to users.
	Name string
}

// MetadataPath is where the gateway serves the metadata.
func (r *Resource) MetadataPath() string { return wellKnown + r.Path }

// MetadataHandler serves the metadata document: public (no auth, any
// origin, through the SDK's handler) and cacheable.
func (r *Resource) MetadataHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodOptions {
			// Browser clients (the MCP Inspector) send MCP-Protocol-Version
			// on discovery requests too; the SDK's preflight allows only
			// Content-Type.
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", "*")
			h.Set("Access-Control-Allow-Methods", "GET, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Content-Type, MCP-Protocol-Version")
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		auth.ProtectedResourceMetadataHandler(r.metadata(req)).ServeHTTP(w, req)
	})
}

// metadata is the document for a request to the endpoint or its metadata.
func (r *Resource) metadata(req *http.Request) *oauthex.ProtectedResourceMetadata {
	return &oauthex.ProtectedResourceMetadata{
		Resource:               r.origin(req) + r.Path,
		AuthorizationServers:   r.AuthorizationServers,
		ScopesSupported:        r.Scopes,
		BearerMethodsSupported: []string{"header"},
		ResourceName:           r.Name,
	}
}

// refuse answers a request Authenticate refused; a 401 points to the
// endpoint's metadata when it has one.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if s.opt.Resource != nil && llm.AsError(err).HTTPStatus() == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", s.opt.Resource.challenge(r, err))
	}
	apigw.WriteError(w, err)
}

// challenge is the WWW-Authenticate value of a 401 from the endpoint.
func (r *Resource) challenge(req *http.Request, err error) string {
	return apigw.Challenge(err,
		"resource_metadata", r.origin(req)+r.MetadataPath(),
		"scope", strings.Join(r.Scopes, " "))
}

// origin is scheme://host of the resource: the configured URL's, else the
// request's (the gateway trusts no forwarding headers).
func (r *Resource) origin(req *http.Request) string {
	if r.URL != "" {
		u, err := url.Parse(r.URL)
		if err == nil {
			return u.Scheme + "://" + u.Host
		}
	}
	scheme := "http"
	if req.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + req.Host
}
