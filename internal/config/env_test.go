package config

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const envBase = `
listen: 127.0.0.1:8080
providers:
  oai: {type: openai, api_key: "${OAI_KEY}"}
  my_ant: {type: anthropic, api_key: file-key-123}
models:
  gpt: {targets: [{provider: oai, model: gpt-4o}]}
`

func TestEnvOverridesFile(t *testing.T) {
	o := EnvOverrides([]string{
		"TIDEGATE_LISTEN=127.0.0.1:9999",
		"TIDEGATE_PROVIDERS_OAI_API_KEY=sk-env-1",
		"TIDEGATE_PROVIDERS_MY_ANT_API_KEY=sk-env-2",                                        // existing key with _ found by matching
		"TIDEGATE_PROVIDERS_NEW__ONE_TYPE=echo",                                             // new key: __ is a literal _
		"TIDEGATE_SERVER_MAX_BODY_BYTES=1024",                                               // nested, non-string
		"TIDEGATE_SERVER_SHUTDOWN_TIMEOUT=7s",                                               // custom type
		"TIDEGATE_MODELS_GPT_TARGETS_0_WEIGHT=3",                                            // list index
		"TIDEGATE_MODELS_GPT_TARGETS_1={provider: oai, model: o3}",                          // append by index = length
		"TIDEGATE_ALIASES_FAST_ONE=gpt",                                                     // map of strings: the rest is the key
		"TIDEGATE_ADMIN_KEYS=[{name: ops, key: 0123456789abcdef0123, scope: admin}]",        // JSON/YAML list
		"TIDEGATE_COUNTERS_PREFIX=0123",                                                     // a string field stays a string
		"TIDEGATE_CONFIG=/ignored.yaml", "TIDEGATE_ADMIN_KEY=x", "TIDEGATE_TEST_POSTGRES=x", // reserved
		"OTHER=1",
	})
	if len(o) != 11 {
		t.Fatalf("overrides: %v", o)
	}
	cfg, err := ParseWith([]byte(envBase), env(map[string]string{"OAI_KEY": "from-expansion"}), o, "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9999" {
		t.Errorf("listen = %q", cfg.Listen)
	}
	if got := cfg.Providers["oai"].APIKey; got != "sk-env-1" {
		t.Errorf("oai key = %q (env must win over ${VAR})", got)
	}
	if got := cfg.Providers["my_ant"].APIKey; got != "sk-env-2" {
		t.Errorf("my_ant key = %q", got)
	}
	if got := cfg.Providers["new_one"].Type; got != "echo" {
		t.Errorf("new_one = %+v", cfg.Providers)
	}
	if cfg.Server.MaxBodyBytes != 1024 || cfg.Server.ShutdownTimeout.D(0) != 7*time.Second {
		t.Errorf("server = %+v", cfg.Server)
	}
	ts := cfg.Models["gpt"].Targets
	if len(ts) != 2 || ts[0].Weight == nil || *ts[0].Weight != 3 || ts[0].Model != "gpt-4o" || ts[1].Provider != "oai" {
		t.Errorf("targets = %+v", ts)
	}
	if cfg.Aliases["fast_one"] != "gpt" {
		t.Errorf("aliases = %v", cfg.Aliases)
	}
	if len(cfg.AdminKeys) != 1 || cfg.AdminKeys[0].Name != "ops" {
		t.Errorf("admin keys = %+v", cfg.AdminKeys)
	}
	if cfg.Counters.Prefix != "0123" {
		t.Errorf("prefix = %q", cfg.Counters.Prefix)
	}
}

func TestEnvOverridesErrors(t *testing.T) {
	for name, c := range map[string]struct{ env, want string }{
		"unknown field":    {"TIDEGATE_LISTN=x", "TIDEGATE_LISTN: the config has no field listn"},
		"unknown nested":   {"TIDEGATE_SERVER_NOPE=1", "server has no field nope"},
		"below a scalar":   {"TIDEGATE_LISTEN_PORT=1", "listen is a single value"},
		"bad index":        {"TIDEGATE_ADMIN_KEYS_X_NAME=a", "admin_keys is a list"},
		"gap":              {"TIDEGATE_ADMIN_KEYS_3_NAME=a", "index 3 would leave a gap"},
		"bad yaml":         {"TIDEGATE_POLICIES=[{", "not valid YAML or JSON"},
		"wrong type":       {"TIDEGATE_SERVER_MAX_BODY_BYTES=lots", "cannot unmarshal"},
		"strict in values": {"TIDEGATE_PROVIDERS_OAI={type: openai, nope: 1}", "field nope not found"},
		"still validated":  {"TIDEGATE_PROVIDERS_OAI_TYPE=nope", "providers.oai.type: unknown provider type"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseWith([]byte(envBase), env(nil), EnvOverrides([]string{c.env}), "")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

// The zero-config (no file) takes overrides too.
func TestEnvOverridesZeroConfig(t *testing.T) {
	base := FromEnv(env(map[string]string{"OPENAI_API_KEY": "sk-z"}), false)
	cfg, err := EnvOverrides([]string{
		"TIDEGATE_PROVIDERS_OPENAI_BASE_URL=http://127.0.0.1:9/v1",
		"TIDEGATE_MODELS_FAST={provider: openai, model: gpt-4o-mini}",
	}).ApplyTo(base)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.ZeroConfig || cfg.Providers["openai"].APIKey != "sk-z" || cfg.Providers["openai"].BaseURL != "http://127.0.0.1:9/v1" {
		t.Fatalf("providers = %+v", cfg.Providers)
	}
	if cfg.Models["fast"].Model != "gpt-4o-mini" || cfg.Models["echo"].Provider != "echo" {
		t.Fatalf("models = %+v", cfg.Models)
	}
	// Without overrides the zero-config is returned as is.
	same, err := Overrides{}.ApplyTo(base)
	if err != nil || same != base {
		t.Fatalf("no overrides: %v %v", same, err)
	}
}

func FuzzEnvOverrides(f *testing.F) {
	f.Add("TIDEGATE_PROVIDERS_OAI_API_KEY", "sk-1")
	f.Add("TIDEGATE_ADMIN_KEYS_0", "{name: a}")
	f.Add("TIDEGATE_MODELS__", "[")
	f.Add("TIDEGATE_", "x")
	f.Fuzz(func(t *testing.T, name, value string) {
		o := Overrides{name: value}
		_, _ = ParseWith([]byte(envBase), env(nil), o, "") // must not panic
	})
}

// Every variable EnvReference lists resolves to its field.
func TestEnvReferenceResolves(t *testing.T) {
	refs := EnvReference()
	if len(refs) < 50 {
		t.Fatalf("only %d variables", len(refs))
	}
	for _, r := range refs {
		name := strings.NewReplacer("<NAME>", "X", "<N>", "0").Replace(r[0])
		want := strings.NewReplacer("<name>", "x", "<n>", "0").Replace(r[1])
		var doc yaml.Node
		if err := (Overrides{name: "1"}).apply(&doc); err != nil && strings.Contains(err.Error(), "has no field") {
			t.Errorf("%s does not resolve: %v", name, err)
			continue
		}
		var got []string
		walkScalars(&doc, nil, func(path []string, _ *yaml.Node) { got = append(got, strings.Join(path, ".")) })
		wantPath := strings.ReplaceAll(strings.ReplaceAll(want, "[", "."), "]", "")
		if len(got) != 1 || got[0] != wantPath {
			t.Errorf("%s set %v, want %s", name, got, wantPath)
		}
	}
}
