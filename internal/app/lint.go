package app

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/guard"
	"github.com/tidegate/tidegate/internal/openapi"
)

// Finding is one problem `tidegate lint` reports: its level ("error"
// stops the gateway, "warning" does not), the config path it is about
// ("apis.orders.spec", "models.m1.provider"; "" for the file as a whole)
// and what is wrong.
type Finding struct {
	Level   string `json:"level"`
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Finding levels.
const (
	LevelError   = "error"
	LevelWarning = "warning"
)

// LintFindings checks what serve would build from cfg (a config that
// passed Validate): providers, routes, targets, CEL policies and
// conditions, and every API's spec, profiles and policies. Nothing is
// started and no upstream is called. Errors come before warnings.
func LintFindings(cfg *config.Config) []Finding {
	logger := slog.New(slog.DiscardHandler)
	var out []Finding
	_, providers, _, err := build(cfg, logger, options{}, nil)
	closeIdle(providers)
	if err != nil {
		out = append(out, FindingsOf(err)...)
	}
	guards, err := guard.New(cfg)
	if err != nil {
		// The APIs' guard middlewares need the guardrail profiles.
		return append(out, FindingsOf(err)...)
	}
	inbound, err := buildAPIs(context.Background(), cfg, guards, nil, nil, nil, nil, logger, nil)
	if err != nil {
		out = append(out, FindingsOf(err)...)
	}
	if inbound != nil {
		inbound.close()
		for _, w := range inbound.warnings {
			out = append(out, finding(LevelWarning, w))
		}
	}
	return out
}

// LoadFindings turns the error of loading and validating the config file
// at path ("" when there is none) into findings: one per validation
// problem, or the whole error (a YAML syntax error, an unknown key, a
// missing file) as one. After validation problems it also reports those
// of the specs the file names, so that one run shows every problem.
func LoadFindings(err error, path string, getenv func(string) string) []Finding {
	var ve *config.ValidationError
	if !errors.As(err, &ve) {
		return []Finding{{Level: LevelError, Message: err.Error()}}
	}
	out := FindingsOf(err)
	return append(out, specFindings(path, getenv, out)...)
}

// specFindings compiles the specs named under apis: in the config file at
// path, read loosely since it failed validation, and reports their errors
// and then their warnings. A spec whose path already has a finding (a
// missing file, say) is skipped.
func specFindings(path string, getenv func(string) string, reported []Finding) []Finding {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	expanded, err := config.Expand(string(data), getenv)
	if err != nil {
		return nil
	}
	var file struct {
		APIs map[string]struct {
			Spec string `yaml:"spec"`
		} `yaml:"apis"`
	}
	if yaml.Unmarshal([]byte(expanded), &file) != nil {
		return nil
	}
	var errs, warnings []Finding
	for _, name := range sortedNames(file.APIs) {
		loc, spec := "apis."+name+".spec", file.APIs[name].Spec
		if spec == "" || slices.ContainsFunc(reported, func(f Finding) bool { return f.Path == loc }) {
			continue
		}
		if !filepath.IsAbs(spec) {
			spec = filepath.Join(filepath.Dir(path), spec)
		}
		api, err := openapi.Compile(context.Background(), spec)
		if err != nil {
			for _, e := range unjoin(err) {
				errs = append(errs, Finding{Level: LevelError, Path: loc, Message: e.Error()})
			}
			continue
		}
		for _, w := range api.Warnings {
			warnings = append(warnings, Finding{Level: LevelWarning, Path: loc, Message: w})
		}
	}
	return append(errs, warnings...)
}

// FindingsOf turns a validation or build error into findings, one per
// problem, each split into its path and message. Problems are the lines
// that start with a config path; the lines that do not continue the
// previous problem.
func FindingsOf(err error) []Finding {
	text := err.Error()
	var ve *config.ValidationError
	if errors.As(err, &ve) {
		text = ve.Error() // without what wraps it (the file name)
	}
	var out []Finding
	for _, line := range strings.Split(text, "\n") {
		text := strings.TrimSpace(line)
		switch {
		case text == "":
		case strings.HasSuffix(text, ":") && !strings.Contains(text, ": "):
			// "invalid config:" and the like head the lines that follow.
		case len(out) > 0 && !startsWithPath(text):
			// A continuation of the previous problem (CEL marks the
			// column on its own lines).
			out[len(out)-1].Message += "\n" + text
		default:
			out = append(out, finding(LevelError, text))
		}
	}
	if len(out) == 0 {
		out = append(out, Finding{Level: LevelError, Message: err.Error()})
	}
	return out
}

// configPath is a config path such as apis.orders.policies[0].when.
var configPath = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.*/\[\]-]*$`)

func startsWithPath(text string) bool {
	path, _, ok := strings.Cut(text, ": ")
	return ok && configPath.MatchString(path)
}

// finding splits "path: message" when the text starts with a config
// path (no spaces before the first ": ").
func finding(level, text string) Finding {
	if !startsWithPath(text) {
		return Finding{Level: level, Message: text}
	}
	path, msg, _ := strings.Cut(text, ": ")
	return Finding{Level: level, Path: path, Message: msg}
}

// HasErrors reports whether any finding is an error.
func HasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Level == LevelError {
			return true
		}
	}
	return false
}
