package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tidegate/tidegate/internal/app"
	"github.com/tidegate/tidegate/internal/config"
)

const chart = "helm/tidegate"

// helmBin finds helm: $HELM, or helm on PATH (.ci/run installs it with
// `go install helm.sh/helm/v4/cmd/helm@v4.3.2`).
func helmBin(t *testing.T) string {
	t.Helper()
	if h := os.Getenv("HELM"); h != "" {
		return h
	}
	h, err := exec.LookPath("helm")
	if err != nil {
		t.Skip("helm is not installed: go install helm.sh/helm/v4/cmd/helm@v4.3.2 (or set HELM)")
	}
	return h
}

func helm(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(helmBin(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return out
}

func TestHelmLint(t *testing.T) {
	out := helm(t, "lint", "--strict", chart, "--set", "providerKeys.openai=sk-x", "--set", "serviceMonitor.enabled=true")
	if !bytes.Contains(out, []byte("1 chart(s) linted, 0 chart(s) failed")) {
		t.Fatalf("helm lint:\n%s", out)
	}
}

// object is the part of a rendered manifest the test reads.
type object map[string]any

func (o object) get(path ...any) any {
	var v any = map[string]any(o)
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func render(t *testing.T, args ...string) map[string]object {
	t.Helper()
	out := helm(t, append([]string{"template", "tg", chart}, args...)...)
	objs := map[string]object{}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var o map[string]any // not object: yaml.v3 would make every nested map one
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("rendered YAML: %v\n%s", err, out)
		}
		if o != nil {
			objs[o["kind"].(string)] = o
		}
	}
	return objs
}

func TestHelmTemplate(t *testing.T) {
	objs := render(t, "--set", "providerKeys.openai=sk-test-1", "--set", "adminKey=admin-key-0123456789",
		"--set", "serviceMonitor.enabled=true")
	for _, kind := range []string{"ConfigMap", "Secret", "Service", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceMonitor"} {
		if objs[kind] == nil {
			t.Errorf("no %s rendered", kind)
		}
	}
	d := objs["Deployment"]
	c := object(d.get("spec", "template", "spec", "containers", 0).(map[string]any))
	if c.get("livenessProbe", "httpGet", "path") != "/health" || c.get("readinessProbe", "httpGet", "path") != "/health/ready" {
		t.Errorf("probes: %v %v", c.get("livenessProbe"), c.get("readinessProbe"))
	}
	if d.get("spec", "template", "spec", "securityContext", "runAsNonRoot") != true {
		t.Error("pods must run as non-root")
	}
	env := map[string]any{}
	for _, e := range c.get("env").([]any) {
		env[e.(map[string]any)["name"].(string)] = e
	}
	key := object(env["TIDEGATE_PROVIDERS_OPENAI_API_KEY"].(map[string]any))
	if key.get("valueFrom", "secretKeyRef", "name") != "tg-tidegate" || key.get("valueFrom", "secretKeyRef", "key") != "openai" {
		t.Errorf("provider key env: %v", key)
	}
	if objs["Secret"].get("stringData", "openai") != "sk-test-1" || objs["Secret"].get("stringData", "admin-key") != "admin-key-0123456789" {
		t.Errorf("secret: %v", objs["Secret"].get("stringData"))
	}
	if d.get("spec", "template", "metadata", "annotations", "checksum/secret") == nil {
		t.Error("no checksum/secret annotation: a key change would not roll the pods")
	}
	if objs["PodDisruptionBudget"].get("spec", "minAvailable") != 1 || objs["HorizontalPodAutoscaler"].get("spec", "minReplicas") != 2 {
		t.Error("pdb/hpa defaults")
	}

	// The ConfigMap's config is valid, with the environment the pod gets.
	text := objs["ConfigMap"].get("data", "tidegate.yaml").(string)
	cfg, err := config.ParseWith([]byte(text), func(string) string { return "" },
		config.EnvOverrides([]string{"TIDEGATE_LISTEN=0.0.0.0:8080", "TIDEGATE_PROVIDERS_OPENAI_API_KEY=sk-test-1"}), "")
	if err != nil {
		t.Fatalf("the chart's config: %v\n%s", err, text)
	}
	if cfg.Providers["openai"].APIKey != "sk-test-1" || cfg.Store != "sqlite:///data/tidegate.db" || !cfg.Telemetry.Metrics.On() {
		t.Errorf("config: %+v %q", cfg.Providers, cfg.Store)
	}
	if err := app.Check(cfg); err != nil {
		t.Fatal(err)
	}

	// An existing Secret: no Secret rendered, keys read from it by name.
	objs = render(t, "--set", "existingSecret=my-keys", "--set", "providerKeys.my-oai=OAI_KEY", "--set", "autoscaling.enabled=false")
	if objs["Secret"] != nil || objs["HorizontalPodAutoscaler"] != nil || objs["ServiceMonitor"] != nil {
		t.Error("existingSecret / autoscaling off / serviceMonitor off rendered extra objects")
	}
	c = object(objs["Deployment"].get("spec", "template", "spec", "containers", 0).(map[string]any))
	found := false
	for _, e := range c.get("env").([]any) {
		e := object(e.(map[string]any))
		if e.get("name") == "TIDEGATE_PROVIDERS_MY_OAI_API_KEY" {
			found = e.get("valueFrom", "secretKeyRef", "name") == "my-keys" && e.get("valueFrom", "secretKeyRef", "key") == "OAI_KEY"
		}
	}
	if !found || objs["Deployment"].get("spec", "replicas") != 2 {
		t.Errorf("existing secret env: %v", c.get("env"))
	}
}
