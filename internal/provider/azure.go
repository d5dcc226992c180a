package provider

import (
	"net/http"
	"net/url"

	"github.com/tidwall/sjson"

	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/llm"
)

// azure holds what Azure OpenAI adds to the OpenAI dialect: deployments
// in the path with an api-version query, or the v1 API (api_version "v1")
// with the deployment as the body's model; the key in an api-key header,
// or an Entra ID bearer token.
type azure struct {
	version     string
	deployments map[string]string
	token       string
}

func newAzure(cfg config.Provider) *azure {
	return &azure{version: cfg.APIVersion, deployments: cfg.Deployments, token: cfg.Token}
}

func (a *azure) header(key string) http.Header {
	h := make(http.Header, 4)
	switch {
	case a.token != "":
		h.Set("Authorization", "Bearer "+a.token)
	case key != "":
		h.Set("api-key", key)
	}
	return h
}

// deployment is the deployment serving an upstream model.
func (a *azure) deployment(model string) string {
	if d := a.deployments[model]; d != "" {
		return d
	}
	return model
}

// path maps an OpenAI operation path ("/chat/completions") to Azure's.
func (a *azure) path(op, model string) string {
	if a.version == "v1" {
		return "/openai/v1" + op
	}
	return "/openai/deployments/" + url.PathEscape(a.deployment(model)) + op + "?api-version=" + url.QueryEscape(a.version)
}

// body sets the deployment as the model for the v1 API, which routes by it.
func (a *azure) body(body []byte, model string) ([]byte, error) {
	if a == nil || a.version != "v1" || a.deployment(model) == model {
		return body, nil
	}
	out, err := sjson.SetBytes(body, "model", a.deployment(model))
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Message: "cannot rewrite request body", Err: err}
	}
	return out, nil
}
