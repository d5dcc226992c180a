package app

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strings"

	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/guard"
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

// LoadFindings turns the error of loading and validating a config into
// findings: one per validation problem, or the whole error (a YAML
// syntax error, an unknown key, a missing file) as one.
func LoadFindings(err error) []Finding {
	var ve *config.ValidationError
	if errors.As(err, &ve) {
		return FindingsOf(err)
	}
	return []Finding{{Level: LevelError, Message: err.Error()}}
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
