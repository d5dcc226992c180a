// Command tidegate is the AI gateway binary.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/spf13/cobra"

	"github.com/tidegate/tidegate/internal/app"
	"github.com/tidegate/tidegate/internal/config"
)

// version and revision are stamped at build time with -ldflags
// "-X main.version=v1.2.3 -X main.revision=<git sha>" (the Dockerfile does;
// a build with -buildvcs also records the revision itself).
var version, revision = "", ""

func main() {
	if err := rootCmd().Execute(); err != nil {
		os.Exit(1)
	}
}

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "tidegate",
		Short:         "tidegate is an AI gateway: OpenAI and Anthropic APIs in front of any provider",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.AddCommand(serveCmd(), lintCmd(), versionCmd(), healthCmd(), envCmd(), keysCmd(), usageCmd())
	return root
}

func serveCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway (zero-config without --config)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			cfg, src, err := loadSource(ctx, path)
			if err != nil {
				return err
			}
			logger = app.NewLogger(cfg.Telemetry.Logging, os.Stderr)
			setMemoryLimit(logger, memlimit.FromCgroup)
			a, err := app.New(ctx, cfg, versionString(), logger, app.WithSource(src))
			if err != nil {
				return err
			}
			// Loading specs and compiling their schemas leaves garbage several
			// times the live heap; give it back now rather than over minutes.
			debug.FreeOSMemory()
			go reloadOnHUP(ctx, a)
			ln, err := net.Listen("tcp", cfg.Listen)
			if err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			models := make([]string, 0, len(cfg.Models))
			for name := range cfg.Models {
				models = append(models, name)
			}
			logger.Info("tidegate listening", "addr", ln.Addr().String(), "version", versionString(), "zero_config", cfg.ZeroConfig, "models", models)
			return a.Serve(ctx, ln)
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "", "config file (default $TIDEGATE_CONFIG; none: zero-config from the environment)")
	return cmd
}

func lintCmd() *cobra.Command {
	var path, format string
	cmd := &cobra.Command{
		Use:   "lint",
		Short: "Validate a config file and its API specs; report every problem with its path",
		Long: `Validate a config file and its API specs without starting anything.

Reports errors (the gateway would refuse to start) and warnings, each with
its config path: unknown keys, invalid values, unknown providers and
targets, invalid CEL, specs that do not compile (unresolvable $refs,
invalid schemas and regex patterns, duplicate tool names), missing
operationIds and descriptions. Exits 1 when there is an error.

--format json prints {"ok": bool, "findings": [{"level", "path", "message"}]}.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format: unknown format %q (text or json)", format)
			}
			if path == "" {
				path = os.Getenv("TIDEGATE_CONFIG")
			}
			cfg, err := loadConfig(cmd.Context(), path)
			var findings []app.Finding
			if err != nil {
				findings = app.LoadFindings(err, path, os.Getenv)
			} else {
				findings = app.LintFindings(cfg)
			}
			ok := !app.HasErrors(findings)
			out := cmd.OutOrStdout()
			if format == "json" {
				if findings == nil {
					findings = []app.Finding{}
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(map[string]any{"ok": ok, "findings": findings}); err != nil {
					return err
				}
			} else {
				for _, f := range findings {
					if f.Path != "" {
						fmt.Fprintf(out, "%s: %s: %s\n", f.Level, f.Path, f.Message)
					} else {
						fmt.Fprintf(out, "%s: %s\n", f.Level, f.Message)
					}
				}
				if ok {
					fmt.Fprintf(out, "ok: %d providers, %d models, %d apis\n", len(cfg.Providers), len(cfg.Models), len(cfg.APIs))
				}
			}
			if !ok {
				cmd.SilenceErrors = true // the findings said it all
				return errLintFailed
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "", "config file (default $TIDEGATE_CONFIG)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// errLintFailed makes lint exit 1 once its findings are printed.
var errLintFailed = errors.New("lint found errors")

// reloadOnHUP re-reads the config file on every SIGHUP until ctx ends.
func reloadOnHUP(ctx context.Context, a *app.App) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			_ = a.Reload(ctx) // logged and counted by the app
		}
	}
}

// loadSource is loadConfig with what live reloads need to read it again.
func loadSource(ctx context.Context, path string) (*config.Config, app.Source, error) {
	if path == "" {
		path = os.Getenv("TIDEGATE_CONFIG")
	}
	cfg, err := loadConfig(ctx, path)
	return cfg, app.Source{Path: path, Getenv: os.Getenv, Overrides: config.EnvOverrides(os.Environ())}, err
}

// loadConfig reads the file named by path or TIDEGATE_CONFIG, or builds the
// zero-config from the environment; TIDEGATE_* variables override any field
// (docs/operations.md).
func loadConfig(ctx context.Context, path string) (*config.Config, error) {
	if path == "" {
		path = os.Getenv("TIDEGATE_CONFIG")
	}
	o := config.EnvOverrides(os.Environ())
	if path == "" {
		return o.ApplyTo(config.FromEnv(os.Getenv, app.ProbeOllama(ctx, config.OllamaURL(os.Getenv))))
	}
	return config.LoadWith(path, os.Getenv, o)
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}

// setMemoryLimit sets GOMEMLIMIT to 90% of the container's memory limit
// (from the cgroup provider), so the GC works harder before the kernel
// kills the process for its memory. GOMEMLIMIT or AUTOMEMLIMIT
// ("off", or another ratio) in the environment take precedence.
func setMemoryLimit(logger *slog.Logger, provider memlimit.Provider) {
	limit, err := memlimit.Set(memlimit.WithProvider(provider))
	switch {
	case err != nil && os.Getenv("AUTOMEMLIMIT") != "":
		logger.Warn("AUTOMEMLIMIT not applied", "error", err)
	case err != nil:
		logger.Debug("no container memory limit read; GOMEMLIMIT stays unset", "error", err)
	case limit > 0 && limit < math.MaxInt64:
		logger.Info("memory limit", "gomemlimit_bytes", limit)
	}
}
