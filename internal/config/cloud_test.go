package config

import (
	"strings"
	"testing"
)

func TestPresetDefaults(t *testing.T) {
	cfg, err := Parse([]byte(`
providers:
  mis: {type: mistral, api_key: k}
  gq:  {type: groq, api_key: k}
  ds:  {type: deepseek, api_key: k}
  x:   {type: xai, api_key: k}
  tg:  {type: together, api_key: k}
  fw:  {type: fireworks, api_key: k}
  or:  {type: openrouter, api_key: k}
  px:  {type: perplexity, api_key: k}
  gem: {type: gemini, api_key: k}
  az:  {type: azure, base_url: "https://r.openai.azure.com/", api_key: k}
  br:  {type: bedrock}
  vx:  {type: vertex, project: p1, token: t}
  vg:  {type: vertex, project: p1, region: global}
`), env(map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIA1", "AWS_SECRET_ACCESS_KEY": "s3cr3t"}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"mis": "https://api.mistral.ai/v1", "gq": "https://api.groq.com/openai/v1", "ds": "https://api.deepseek.com",
		"x": "https://api.x.ai/v1", "tg": "https://api.together.xyz/v1", "fw": "https://api.fireworks.ai/inference/v1",
		"or": "https://openrouter.ai/api/v1", "px": "https://api.perplexity.ai",
		"gem": "https://generativelanguage.googleapis.com/v1beta", "az": "https://r.openai.azure.com",
		"br": "https://bedrock-runtime.eu-west-1.amazonaws.com", "vx": "https://us-central1-aiplatform.googleapis.com",
		"vg": "https://aiplatform.googleapis.com",
	}
	for name, url := range want {
		if got := cfg.Providers[name].BaseURL; got != url {
			t.Errorf("%s: base_url %q, want %q", name, got, url)
		}
	}
	if cfg.Providers["az"].APIVersion != DefaultAzureAPIVersion || cfg.Providers["br"].Region != "eu-west-1" || cfg.Providers["vx"].Region != DefaultVertexLocation {
		t.Errorf("defaults: %+v %+v %+v", cfg.Providers["az"], cfg.Providers["br"], cfg.Providers["vx"])
	}
	if br := cfg.Providers["br"]; br.AccessKeyID != "AKIA1" || br.SecretAccessKey != "s3cr3t" {
		t.Errorf("bedrock credentials from the environment: %+v", br)
	}
	if m := string(cfg.Marshal()); strings.Contains(m, "token: t\n") || strings.Contains(m, "s3cr3t") {
		t.Errorf("token not redacted:\n%s", m)
	}
}

func TestCloudValidation(t *testing.T) {
	_, err := Parse([]byte(`
providers:
  az:  {type: azure, api_key: k, deployments: {gpt-4o: "a/b"}}
  br:  {type: bedrock, access_key_id: AKIA}
  br2: {type: bedrock, region: us-east-1, health_check: {}}
  vx:  {type: vertex}
  oai: {type: openai, api_version: "2024-10-21", region: us-east-1, project: p, deployments: {a: b}, credentials_file: x.json}
  vx2: {type: vertex, project: p, token: t, credentials_file: sa.json}
`), env(nil))
	if err == nil {
		t.Fatal("expected errors")
	}
	for _, want := range []string{
		"providers.az.base_url: required for azure",
		"providers.az.deployments.gpt-4o: must be a deployment name",
		"providers.br.region: required for bedrock",
		"providers.br: access_key_id and secret_access_key go together",
		"providers.br2: bedrock needs credentials",
		"providers.br2.health_check: not supported for bedrock",
		"providers.vx.project: required for vertex",
		"providers.oai.api_version: only for type azure",
		"providers.oai.deployments: only for type azure",
		"providers.oai.region: only for types bedrock and vertex",
		"providers.oai.project: only for type vertex",
		"providers.oai.credentials_file: only for type vertex",
		"providers.vx2: token and credentials_file are exclusive",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestFromEnvPresets(t *testing.T) {
	cfg := FromEnv(env(map[string]string{"GEMINI_API_KEY": "g", "GROQ_API_KEY": "q"}), false)
	if p := cfg.Providers["gemini"]; p.Type != TypeGemini || p.APIKey != "g" || p.BaseURL != "https://generativelanguage.googleapis.com/v1beta" {
		t.Errorf("gemini: %+v", p)
	}
	if m := cfg.Models["groq/*"]; m.Provider != "groq" {
		t.Errorf("groq/*: %+v", m)
	}
	if _, ok := cfg.Providers["mistral"]; ok {
		t.Error("mistral configured without its key")
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}
