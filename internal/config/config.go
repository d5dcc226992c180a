// Package config loads, expands and validates tidegate.yaml. The whole file
// is validated at load and every error names its path, so a broken config
// never half-starts.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole gateway configuration.
type Config struct {
	Listen string `yaml:"listen"`
	// Auth is "keys" (virtual keys required), "none", or empty (unset:
	// none, only allowed on loopback).
	Auth string `yaml:"auth"`
	// Store is sqlite://path, sqlite:///abs/path or postgres://…; with auth
	// keys it defaults to sqlite://tidegate.db.
	Store string `yaml:"store"`
	// Redis (redis://…) shares counters between replicas; without it they
	// live in memory.
	Redis string `yaml:"redis"`
	// Counters tune rate limits and budgets.
	Counters Counters `yaml:"counters"`
	// Pricing overrides model prices, USD per million tokens, keyed by
	// upstream model (a trailing * matches a prefix).
	Pricing map[string]Pricing `yaml:"pricing"`
	// AdminKeys may call /admin/ (besides TIDEGATE_ADMIN_KEY).
	AdminKeys []AdminKey          `yaml:"admin_keys"`
	Server    Server              `yaml:"server"`
	Providers map[string]Provider `yaml:"providers"`
	Models    map[string]Model    `yaml:"models"`
	// Aliases maps extra public names to models entries (or names a
	// wildcard serves).
	Aliases map[string]string `yaml:"aliases"`
	// Targets are named targets that models (and policies) refer to.
	Targets map[string]Target `yaml:"targets"`
	// Policies are ordered CEL rules that route to a named target, deny,
	// or let the caller pick a target with x-tidegate-target.
	Policies []Policy `yaml:"policies"`
	// Retry and Breaker are the defaults of every target.
	Retry   Retry   `yaml:"retry"`
	Breaker Breaker `yaml:"breaker"`
	// ModelInfo overrides or extends the embedded model catalogue, keyed by
	// upstream model name (a trailing * matches a prefix).
	ModelInfo map[string]ModelInfo `yaml:"model_info"`
	// APIs are inbound APIs: OpenAPI specs served as MCP tools and as
	// validated HTTP routes.
	APIs map[string]API `yaml:"apis"`
	// Middlewares are named profiles that API operations attach with
	// x-tidegate-middlewares (per-operation rate limits).
	Middlewares map[string]Middleware `yaml:"middlewares"`
	// Guardrails are named guard profiles (PII and secret redaction,
	// deny/allow lists, limits); GlobalGuardrails apply to every model.
	Guardrails       map[string]Guardrail `yaml:"guardrails"`
	GlobalGuardrails []string             `yaml:"global_guardrails"`
	// Cache is the exact-match response cache.
	Cache Cache `yaml:"cache"`
	// MCPServers are external MCP servers whose tools tool_loops offer.
	MCPServers map[string]MCPServer `yaml:"mcp_servers"`
	// ToolLoops attach MCP servers' and APIs' tools to public models; the
	// gateway runs the model's calls to them.
	ToolLoops map[string]ToolLoop `yaml:"tool_loops"`
	// Telemetry: Prometheus metrics, logs and OpenTelemetry traces.
	Telemetry Telemetry `yaml:"telemetry"`
	// Responses configures POST /v1/responses.
	Responses Responses `yaml:"responses"`

	// ZeroConfig is set when no file was given and providers came from the
	// environment. Not a YAML field.
	ZeroConfig bool `yaml:"-"`

	// getenv reads the environment for defaults (AWS_REGION); nil: none.
	getenv func(string) string
}

// Server holds HTTP server limits.
type Server struct {
	MaxBodyBytes      int64    `yaml:"max_body_bytes"`
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	ReadTimeout       Duration `yaml:"read_timeout"`
	IdleTimeout       Duration `yaml:"idle_timeout"`
	ShutdownTimeout   Duration `yaml:"shutdown_timeout"`
}

// Provider is one upstream.
type Provider struct {
	// Type is the provider's kind: openai, anthropic, ollama, echo; an
	// OpenAI-compatible preset (mistral, groq, deepseek, xai, together,
	// fireworks, openrouter, perplexity); azure, gemini, bedrock, vertex or
	// cohere.
	Type    string            `yaml:"type"`
	BaseURL string            `yaml:"base_url"`
	APIKey  string            `yaml:"api_key"`
	Headers map[string]string `yaml:"headers"`
	// Token is a bearer token sent as Authorization instead of the key
	// header (Azure Entra ID; Vertex AI access token).
	Token string `yaml:"token"`
	// APIVersion is Azure OpenAI's api-version ("v1" selects the v1 API).
	APIVersion string `yaml:"api_version"`
	// Deployments maps upstream model names to Azure deployment names
	// (default: the model name is the deployment name).
	Deployments map[string]string `yaml:"deployments"`
	// Region (Bedrock, Vertex location) and Project (Vertex).
	Region  string `yaml:"region"`
	Project string `yaml:"project"`
	// CredentialsFile is a Google credentials JSON (service account or
	// authorized user) for Vertex; with neither it nor token, Vertex uses
	// Application Default Credentials.
	CredentialsFile string `yaml:"credentials_file"`
	// AWS credentials for Bedrock; empty: the standard AWS_* variables.
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
	SessionToken    string `yaml:"session_token"`
	// Timeouts: connect, time to the response headers (first byte), and the
	// longest silence between two stream events.
	ConnectTimeout   Duration `yaml:"connect_timeout"`
	FirstByteTimeout Duration `yaml:"first_byte_timeout"`
	IdleTimeout      Duration `yaml:"idle_timeout"`
	// HealthCheck enables active probes; nil: none.
	HealthCheck *HealthCheck `yaml:"health_check"`
	// ResponsesAPI (openai type): the upstream serves /v1/responses, so
	// Responses API callers are relayed to it as they are instead of
	// being translated to Chat Completions.
	ResponsesAPI bool `yaml:"responses_api"`
}

// Same reports whether p and o configure the same upstream the same way,
// an empty map counting as none (a config read back through the admin API
// spells an absent map as {}).
func (p Provider) Same(o Provider) bool {
	if !maps.Equal(p.Headers, o.Headers) || !maps.Equal(p.Deployments, o.Deployments) {
		return false
	}
	p.Headers, p.Deployments, o.Headers, o.Deployments = nil, nil, nil, nil
	return reflect.DeepEqual(p, o)
}

// ModelInfo is what is known about an upstream model.
type ModelInfo struct {
	ContextWindow int   `yaml:"context_window"`
	MaxOutput     int   `yaml:"max_output"`
	Reasoning     *bool `yaml:"reasoning"`
	// Prices in USD per million tokens; set ones override the embedded
	// table's.
	InputPrice      *float64 `yaml:"input_price"`
	OutputPrice     *float64 `yaml:"output_price"`
	CacheReadPrice  *float64 `yaml:"cache_read_price"`
	CacheWritePrice *float64 `yaml:"cache_write_price"`
	// Modalities are the input kinds accepted: text, image, audio, video, pdf.
	Modalities []string `yaml:"modalities"`
}

// Auth modes.
const (
	AuthNone = "none"
	AuthKeys = "keys"
)

// Counters tune limit enforcement.
type Counters struct {
	// FailOpen admits requests when Redis is unreachable (limits are then
	// not enforced); the default fails closed with a 503.
	FailOpen bool `yaml:"fail_open"`
	// Prefix namespaces the Redis keys (default "tidegate:").
	Prefix string `yaml:"prefix"`
}

// Pricing is a model's price in USD per million tokens.
type Pricing struct {
	Input      float64 `yaml:"input"`
	Output     float64 `yaml:"output"`
	CacheRead  float64 `yaml:"cache_read"`
	CacheWrite float64 `yaml:"cache_write"`
}

// AdminKey may call the admin API.
type AdminKey struct {
	Name  string `yaml:"name"`
	Key   string `yaml:"key"`
	Scope string `yaml:"scope"` // read | admin
}

// Provider types.
const (
	TypeOpenAI    = "openai"
	TypeAnthropic = "anthropic"
	TypeOllama    = "ollama"
	TypeEcho      = "echo"

	// OpenAI-compatible presets: the OpenAI dialect with a base URL and
	// each service's documented quirks.
	TypeMistral    = "mistral"
	TypeGroq       = "groq"
	TypeDeepSeek   = "deepseek"
	TypeXAI        = "xai"
	TypeTogether   = "together"
	TypeFireworks  = "fireworks"
	TypeOpenRouter = "openrouter"
	TypePerplexity = "perplexity"

	TypeAzure   = "azure"
	TypeGemini  = "gemini"
	TypeBedrock = "bedrock"
	TypeVertex  = "vertex"
	TypeCohere  = "cohere"
)

// ProviderTypes lists every provider type, for error messages.
var ProviderTypes = []string{TypeOpenAI, TypeAnthropic, TypeOllama, TypeEcho,
	TypeMistral, TypeGroq, TypeDeepSeek, TypeXAI, TypeTogether, TypeFireworks, TypeOpenRouter, TypePerplexity,
	TypeAzure, TypeGemini, TypeBedrock, TypeVertex, TypeCohere}

// OpenAICompatible reports whether a provider type speaks the OpenAI
// Chat Completions wire format.
func OpenAICompatible(typ string) bool {
	switch typ {
	case TypeOpenAI, TypeMistral, TypeGroq, TypeDeepSeek, TypeXAI, TypeTogether, TypeFireworks, TypeOpenRouter, TypePerplexity, TypeAzure:
		return true
	}
	return false
}

// Defaults.
const (
	DefaultListen       = "127.0.0.1:8080"
	DefaultMaxBodyBytes = 32 << 20
)

// Duration is a time.Duration written as "30s" in YAML.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("invalid duration %q (use e.g. 30s, 2m)", n.Value)
	}
	if v < 0 {
		return fmt.Errorf("duration %q must not be negative", n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a Go duration string ("30s").
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// D returns the duration, or def when unset.
func (d Duration) D(def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return time.Duration(d)
}

// Load reads and validates the file at path, expanding ${VAR} and
// ${VAR:-default} from getenv.
func Load(path string, getenv func(string) string) (*Config, error) {
	return LoadWith(path, getenv, nil)
}

// LoadWith is Load with environment overrides applied on top of the file
// (after ${VAR} expansion, before validation).
func LoadWith(path string, getenv func(string) string, o Overrides) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := parse(data, getenv, o, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// Parse decodes YAML strictly (unknown keys are errors), applies defaults
// and validates. Relative spec paths are relative to the working directory.
func Parse(data []byte, getenv func(string) string) (*Config, error) {
	return parse(data, getenv, nil, "")
}

// ParseWith is Parse with environment overrides, and relative spec paths
// resolved against dir ("": the working directory).
func ParseWith(data []byte, getenv func(string) string, o Overrides, dir string) (*Config, error) {
	return parse(data, getenv, o, dir)
}

// parse expands ${VAR}, applies the overrides, decodes strictly, applies
// defaults and validates.
func parse(data []byte, getenv func(string) string, o Overrides, dir string) (*Config, error) {
	expanded, err := Expand(string(data), getenv)
	if err != nil {
		return nil, err
	}
	if expanded, err = withOverrides(expanded, o); err != nil {
		return nil, err
	}
	cfg := Config{getenv: getenv}
	dec := yaml.NewDecoder(strings.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) { // io.EOF: empty file
		return nil, fmt.Errorf("parse: %w", err)
	}
	cfg.applyDefaults()
	cfg.Telemetry.applyDefaults(getenv)
	cfg.applyAPIDefaults(dir)
	cfg.resolveCloudFiles(dir)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// Expand replaces ${VAR} and ${VAR:-default}. "$${" escapes a literal "${".
func Expand(s string, getenv func(string) string) (string, error) {
	const esc = "\x00tidegate-dollar\x00"
	s = strings.ReplaceAll(s, "$${", esc)
	s = envRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := envRef.FindStringSubmatch(m)
		v := getenv(sub[1])
		if v == "" && sub[2] != "" {
			v = sub[3]
		}
		return v
	})
	return strings.ReplaceAll(s, esc, "${"), nil
}

func (c *Config) applyDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Auth == AuthKeys && c.Store == "" {
		c.Store = "sqlite://tidegate.db"
	}
	if c.Server.MaxBodyBytes == 0 {
		c.Server.MaxBodyBytes = DefaultMaxBodyBytes
	}
	for name, p := range c.Providers {
		if p.BaseURL == "" {
			p.BaseURL = defaultBaseURL(p.Type)
		}
		applyCloudDefaults(&p, c.getenv)
		p.BaseURL = strings.TrimRight(p.BaseURL, "/")
		if hc := p.HealthCheck; hc != nil {
			h := *hc
			if h.Path == "" {
				h.Path = defaultHealthPath(p.Type)
			}
			h.Interval = Duration(h.Interval.D(DefaultHealthInterval))
			h.Timeout = Duration(h.Timeout.D(DefaultHealthTimeout))
			p.HealthCheck = &h
		}
		c.Providers[name] = p
	}
}

// defaultHealthPath is each provider type's model list, relative to its
// base URL.
func defaultHealthPath(typ string) string {
	switch typ {
	case TypeAnthropic:
		return "/v1/models"
	case TypeOllama:
		return "/api/tags"
	case TypeCohere:
		return "/v1/models"
	}
	return "/models"
}

func defaultBaseURL(typ string) string {
	switch typ {
	case TypeOpenAI:
		return "https://api.openai.com/v1"
	case TypeAnthropic:
		return "https://api.anthropic.com"
	case TypeOllama:
		return "http://127.0.0.1:11434"
	case TypeMistral:
		return "https://api.mistral.ai/v1"
	case TypeGroq:
		return "https://api.groq.com/openai/v1"
	case TypeDeepSeek:
		return "https://api.deepseek.com"
	case TypeXAI:
		return "https://api.x.ai/v1"
	case TypeTogether:
		return "https://api.together.xyz/v1"
	case TypeFireworks:
		return "https://api.fireworks.ai/inference/v1"
	case TypeOpenRouter:
		return "https://openrouter.ai/api/v1"
	case TypePerplexity:
		return "https://api.perplexity.ai"
	case TypeGemini:
		return "https://generativelanguage.googleapis.com/v1beta"
	case TypeCohere:
		return "https://api.cohere.com"
	}
	return ""
}

// Validate checks the whole config and reports every problem with its path.
func (c *Config) Validate() error {
	var errs []string
	add := func(path, format string, args ...any) {
		errs = append(errs, path+": "+fmt.Sprintf(format, args...))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		add("listen", "must be host:port (%v)", err)
	} else if c.Auth == "" && !IsLoopback(c.Listen) {
		add("listen", "%s is not a loopback address and no client authentication is configured; set `auth: none` to serve it openly on purpose", c.Listen)
	}
	switch c.Auth {
	case "", AuthNone, AuthKeys:
	default:
		add("auth", "unknown mode %q (supported: none, keys)", c.Auth)
	}
	if c.Store != "" && !strings.HasPrefix(c.Store, "sqlite://") && !strings.HasPrefix(c.Store, "postgres://") && !strings.HasPrefix(c.Store, "postgresql://") {
		add("store", "must be sqlite://path, sqlite:///absolute/path or postgres://…, got %q", c.Store)
	}
	if c.Redis != "" && !strings.HasPrefix(c.Redis, "redis://") && !strings.HasPrefix(c.Redis, "rediss://") {
		add("redis", "must be a redis:// or rediss:// URL")
	}
	for i, k := range c.AdminKeys {
		path := fmt.Sprintf("admin_keys[%d]", i)
		if k.Name == "" {
			add(path+".name", "required")
		}
		if len(k.Key) < 16 {
			add(path+".key", "must be at least 16 characters")
		}
		if k.Scope != "read" && k.Scope != "admin" {
			add(path+".scope", "must be read or admin")
		}
	}
	for name, m := range c.Models {
		if l := m.Limits; l.RPM < 0 || l.RPH < 0 || l.TPM < 0 || l.TPH < 0 {
			add("models."+name+".limits", "limits must not be negative")
		}
	}
	for name, p := range c.Pricing {
		if p.Input < 0 || p.Output < 0 || p.CacheRead < 0 || p.CacheWrite < 0 {
			add("pricing."+name, "prices must not be negative")
		}
	}
	if c.Server.MaxBodyBytes < 0 {
		add("server.max_body_bytes", "must be positive")
	}
	for _, name := range sortedKeys(c.Providers) {
		p := c.Providers[name]
		path := "providers." + name
		known := slices.Contains(ProviderTypes, p.Type)
		switch {
		case p.Type == "":
			add(path+".type", "required (%s)", strings.Join(ProviderTypes, ", "))
		case !known:
			add(path+".type", "unknown provider type %q (%s)", p.Type, strings.Join(ProviderTypes, ", "))
		}
		if p.ResponsesAPI && p.Type != TypeOpenAI {
			add(path+".responses_api", "only an openai provider can serve the Responses API")
		}
		if known && p.Type != TypeEcho && !strings.HasPrefix(p.BaseURL, "http://") && !strings.HasPrefix(p.BaseURL, "https://") {
			add(path+".base_url", "must be an http(s) URL, got %q", p.BaseURL)
		}
		p.validateCloud(path, add)
		for h, v := range p.Headers {
			if strings.ContainsAny(h, "\r\n: ") || h == "" {
				add(path+".headers", "invalid header name %q", h)
			}
			if strings.ContainsAny(v, "\r\n") {
				add(path+".headers."+h, "header value must not contain line breaks")
			}
		}
		if strings.ContainsAny(p.APIKey, "\r\n") {
			add(path+".api_key", "must not contain line breaks")
		}
	}
	c.validateRouting(add)
	c.validateAPIs(add)
	c.validateMiddlewares(add)
	c.validateGuardrails(add)
	c.validateCache(add)
	c.validateToolLoops(add)
	c.Telemetry.validate(add)
	if c.Telemetry.Metrics.On() {
		for _, name := range sortedKeys(c.APIs) {
			a, p := c.APIs[name], c.Telemetry.Metrics.Path
			if p == a.BasePath || strings.HasPrefix(p, a.BasePath+"/") || (a.MCP.On() && p == a.MCP.Path) {
				add("telemetry.metrics.path", "%q is served by apis.%s", p, name)
			}
		}
	}
	c.validateResponses(add)
	for _, name := range sortedKeys(c.ModelInfo) {
		mi := c.ModelInfo[name]
		prices := []*float64{mi.InputPrice, mi.OutputPrice, mi.CacheReadPrice, mi.CacheWritePrice}
		for i, field := range []string{"input_price", "output_price", "cache_read_price", "cache_write_price"} {
			if prices[i] != nil && *prices[i] < 0 {
				add("model_info."+name+"."+field, "must not be negative")
			}
		}
		for i, m := range mi.Modalities {
			if !slices.Contains([]string{"text", "image", "audio", "video", "pdf"}, m) {
				add(fmt.Sprintf("model_info.%s.modalities[%d]", name, i), "unknown modality %q (text, image, audio, video, pdf)", m)
			}
		}
	}
	if len(errs) > 0 {
		return &ValidationError{Problems: errs}
	}
	return nil
}

// ValidationError lists every problem found in a config.
type ValidationError struct{ Problems []string }

func (e *ValidationError) Error() string {
	return "invalid config:\n  " + strings.Join(e.Problems, "\n  ")
}

// IsLoopback reports whether a listen address only accepts local clients.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Marshal renders the config as YAML with its secrets masked (see
// Masked), for lint and debugging output and the admin API.
func (c *Config) Marshal() []byte {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	_ = enc.Encode(c.Masked())
	return buf.Bytes()
}
