// Package deploy holds the container, compose and Helm files; its tests
// check them the way they are used: the Dockerfile's build command is run,
// the compose file is read and its tidegate config validated, and the chart
// is linted and rendered with helm when it is available.
package deploy

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tidegate/tidegate/internal/app"
	"github.com/tidegate/tidegate/internal/config"
)

// root is the repository root (tests run in deploy/).
const root = ".."

func TestComposeFile(t *testing.T) {
	data, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]struct {
			Build *struct {
				Context    string `yaml:"context"`
				Dockerfile string `yaml:"dockerfile"`
			} `yaml:"build"`
			Image       string            `yaml:"image"`
			Environment map[string]string `yaml:"environment"`
			Volumes     []string          `yaml:"volumes"`
			Ports       []string          `yaml:"ports"`
			DependsOn   any               `yaml:"depends_on"`
			Healthcheck *struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &c); err != nil { // merge keys (<<) resolved
		t.Fatal(err)
	}
	for _, name := range []string{"tidegate-1", "tidegate-2", "postgres", "redis", "prometheus", "grafana"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("compose: no service %s", name)
		}
	}
	for _, name := range []string{"tidegate-1", "tidegate-2"} {
		s := c.Services[name]
		if s.Build == nil || filepath.Join(s.Build.Context, s.Build.Dockerfile) != filepath.Join("..", "Dockerfile") {
			t.Errorf("%s: must build the repository's Dockerfile: %+v", name, s.Build)
		}
		if s.Environment["TIDEGATE_CONFIG"] != "/etc/tidegate/tidegate.yaml" || len(s.Ports) != 1 {
			t.Errorf("%s: environment %v ports %v", name, s.Environment, s.Ports)
		}
	}
	for _, name := range []string{"postgres", "redis"} {
		if c.Services[name].Healthcheck == nil {
			t.Errorf("%s: the replicas wait for its healthcheck; it has none", name)
		}
	}
	// Every mounted path exists, except the dashboards the observability
	// work provides (deploy/grafana/), mounted by path.
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if !strings.HasPrefix(src, "./") {
				continue
			}
			if _, err := os.Stat(src); err != nil {
				t.Errorf("%s mounts %s: %v", name, src, err)
			}
		}
	}
	if !slices.Contains(c.Services["grafana"].Volumes, "./grafana:/var/lib/grafana/dashboards/tidegate:ro") {
		t.Errorf("grafana does not mount deploy/grafana/: %v", c.Services["grafana"].Volumes)
	}
	// Prometheus scrapes both replicas by their service names.
	prom, err := os.ReadFile("prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"tidegate-1:8080", "tidegate-2:8080"} {
		if !bytes.Contains(prom, []byte(target)) {
			t.Errorf("prometheus.yml does not scrape %s", target)
		}
	}
	// The stack's tidegate config is valid, with the environment it gets.
	cfg, err := config.LoadWith("config/tidegate.yaml", func(k string) string {
		return map[string]string{"OPENAI_API_KEY": "sk-test"}[k]
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cfg.Store, "postgres://") || cfg.Redis == "" || cfg.Auth != config.AuthKeys || !cfg.Telemetry.Metrics.On() {
		t.Errorf("the compose config must share PostgreSQL and Redis with auth: keys, and serve metrics: %+v", cfg)
	}
	if err := app.Check(cfg); err != nil {
		t.Fatal(err)
	}
}

func TestDockerfile(t *testing.T) {
	df := readDockerfile(t)
	for _, want := range []string{
		"FROM golang:1.26 AS build",
		"FROM gcr.io/distroless/static-debian12:nonroot",
		"USER nonroot:nonroot",
		`HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/usr/local/bin/tidegate", "health"]`,
		`ENTRYPOINT ["/usr/local/bin/tidegate"]`,
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if !strings.Contains(string(must(os.ReadFile(filepath.Join(root, ".dockerignore")))), ".git") {
		t.Error(".dockerignore does not keep .git out of the build context")
	}
}

// TestDockerfileBuildStage runs the build stage's `go build` command as
// the Dockerfile has it (no Docker daemon needed) and checks the result:
// a static binary, stamped with the version, that runs, linked with the
// linker's dead-code elimination of unused methods still on.
func TestDockerfileBuildStage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin, linkerDeps := buildStage(t, map[string]string{"VERSION": "v9.9.9-test", "REVISION": "0123abcd", "GOFIPS140": "off"}, "-dumpdep")
	// A reachable function that looks methods up by a computed name
	// (text/template's executor, reflect's method iterators) makes the
	// linker keep every exported method of every type: about 12 MB here.
	var reflective []string
	for l := range strings.Lines(linkerDeps) {
		if f, _, ok := strings.Cut(l, " <ReflectMethod> -> "); ok && !slices.Contains(reflective, f) {
			reflective = append(reflective, f)
		}
	}
	if len(reflective) > 0 {
		t.Errorf("dead-code elimination is off: these reachable functions call reflect's Method/MethodByName with a computed argument: %v (go build -ldflags=-dumpdep shows what reaches them)", reflective)
	}
	st, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("binary: %.1f MB (image ≈ binary + ~2 MB of distroless/static)", float64(st.Size())/1e6)
	if st.Size() > 40e6 {
		t.Errorf("binary is %.1f MB: more than the 40 MB expected (docs/operations.md, Size)", float64(st.Size())/1e6)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Fatalf("not a static binary: it has %v", p.Type)
		}
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("version: %v: %s", err, out)
	}
	for _, want := range []string{"tidegate v9.9.9-test\n", "revision\t0123abcd\n", "CGO_ENABLED\t0\n", "dep\tgithub.com/jackc/pgx/v5\t"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("version output lacks %q:\n%s", want, out)
		}
	}
	// internal/tokens embeds the o200k vocabulary compactly; this
	// library holds it as a 6 MB map literal.
	if strings.Contains(string(out), "dep\tgithub.com/tiktoken-go/tokenizer\t") {
		t.Error("the binary links github.com/tiktoken-go/tokenizer (6 MB of vocabulary; docs/operations.md, Size)")
	}
}

func readDockerfile(t *testing.T) string {
	t.Helper()
	return string(must(os.ReadFile(filepath.Join(root, "Dockerfile"))))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// buildStage runs the Dockerfile's `RUN ... go build ...` line with its
// ARGs set from args, /out replaced by a temporary directory and
// extraLdflags added; it returns the binary's path and the build output.
func buildStage(t *testing.T, args map[string]string, extraLdflags string) (bin, output string) {
	t.Helper()
	line := ""
	for l := range strings.Lines(readDockerfile(t)) {
		if strings.HasPrefix(l, "RUN ") && strings.Contains(l, " go build ") {
			line = strings.TrimSpace(strings.TrimPrefix(l, "RUN "))
		}
	}
	if line == "" {
		t.Fatal("no RUN ... go build line in the Dockerfile")
	}
	out := t.TempDir()
	line = regexp.MustCompile(`\$\{(\w+)\}`).ReplaceAllStringFunc(line, func(m string) string {
		return args[m[2:len(m)-1]]
	})
	line = strings.ReplaceAll(line, "/out/", out+"/")
	if extraLdflags != "" {
		line = strings.Replace(line, `-ldflags="`, `-ldflags="`+extraLdflags+" ", 1)
	}
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir = root
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		if strings.Contains(buf.String(), "GOFIPS140") {
			t.Skipf("this toolchain cannot build with %v: %s", args, buf.String())
		}
		t.Fatalf("%s: %v\n%s", line, err, buf.String())
	}
	return filepath.Join(out, "tidegate"), buf.String()
}
