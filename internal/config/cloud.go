package config

import (
	"path/filepath"
	"strings"
)

// Defaults of the cloud provider types.
const (
	DefaultAzureAPIVersion = "2024-10-21"
	DefaultVertexLocation  = "us-central1"
)

// cloudBaseURL is the default endpoint of the provider types whose URL
// depends on their region; "" when it cannot be derived.
func cloudBaseURL(p Provider) string {
	switch p.Type {
	case TypeBedrock:
		if p.Region != "" {
			return "https://bedrock-runtime." + p.Region + ".amazonaws.com"
		}
	case TypeVertex:
		if p.Region == "global" {
			return "https://aiplatform.googleapis.com"
		}
		if p.Region != "" {
			return "https://" + p.Region + "-aiplatform.googleapis.com"
		}
	}
	return ""
}

// applyCloudDefaults fills the region-dependent defaults of one provider.
func applyCloudDefaults(p *Provider, getenv func(string) string) {
	switch p.Type {
	case TypeAzure:
		if p.APIVersion == "" {
			p.APIVersion = DefaultAzureAPIVersion
		}
	case TypeBedrock:
		if getenv != nil {
			if p.Region == "" {
				p.Region = firstNonEmpty(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"))
			}
			// The standard AWS variables, unless config names credentials.
			if p.AccessKeyID == "" && p.APIKey == "" {
				p.AccessKeyID, p.SecretAccessKey, p.SessionToken = getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN")
				if p.AccessKeyID == "" {
					p.APIKey = getenv("AWS_BEARER_TOKEN_BEDROCK")
				}
			}
		}
	case TypeVertex:
		if p.Region == "" {
			p.Region = DefaultVertexLocation
		}
	}
	if p.BaseURL == "" {
		p.BaseURL = cloudBaseURL(*p)
	}
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// validateCloud checks the fields that only some provider types use.
func (p Provider) validateCloud(path string, add func(path, format string, args ...any)) {
	for field, v := range map[string]string{"token": p.Token, "secret_access_key": p.SecretAccessKey, "session_token": p.SessionToken, "access_key_id": p.AccessKeyID} {
		if strings.ContainsAny(v, "\r\n") {
			add(path+"."+field, "must not contain line breaks")
		}
	}
	if p.Type != TypeAzure {
		if p.APIVersion != "" {
			add(path+".api_version", "only for type azure")
		}
		if len(p.Deployments) > 0 {
			add(path+".deployments", "only for type azure")
		}
	}
	if p.Type != TypeBedrock && (p.AccessKeyID != "" || p.SecretAccessKey != "" || p.SessionToken != "") {
		add(path, "access_key_id, secret_access_key and session_token are only for type bedrock")
	}
	if p.Type != TypeVertex && p.Project != "" {
		add(path+".project", "only for type vertex")
	}
	if p.Type != TypeVertex && p.CredentialsFile != "" {
		add(path+".credentials_file", "only for type vertex")
	}
	if p.Token != "" && p.CredentialsFile != "" {
		add(path, "token and credentials_file are exclusive")
	}
	if p.Type != TypeBedrock && p.Type != TypeVertex && p.Region != "" {
		add(path+".region", "only for types bedrock and vertex")
	}
	switch p.Type {
	case TypeAzure:
		if p.BaseURL == "" {
			add(path+".base_url", "required for azure (https://<resource>.openai.azure.com)")
		}
		for model, dep := range p.Deployments {
			if dep == "" || strings.ContainsAny(dep, "/?#") {
				add(path+".deployments."+model, "must be a deployment name, got %q", dep)
			}
		}
	case TypeBedrock:
		if p.HealthCheck != nil {
			add(path+".health_check", "not supported for bedrock (the runtime API has no cheap authenticated GET)")
		}
		if p.Region == "" {
			add(path+".region", "required for bedrock (or set AWS_REGION)")
		}
		if (p.AccessKeyID == "") != (p.SecretAccessKey == "") {
			add(path, "access_key_id and secret_access_key go together")
		}
		if p.AccessKeyID == "" && p.APIKey == "" {
			add(path, "bedrock needs credentials: access_key_id and secret_access_key, an api_key (Bedrock API key), or the AWS_* environment variables")
		}
	case TypeVertex:
		if p.Project == "" {
			add(path+".project", "required for vertex")
		}
	}
}

// resolveCloudFiles makes relative credentials files relative to dir (the
// config file's directory; "" keeps them relative to the working
// directory).
func (c *Config) resolveCloudFiles(dir string) {
	for name, p := range c.Providers {
		if p.CredentialsFile != "" && dir != "" && !filepath.IsAbs(p.CredentialsFile) {
			p.CredentialsFile = filepath.Join(dir, p.CredentialsFile)
			c.Providers[name] = p
		}
	}
}
