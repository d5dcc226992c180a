// Command tidegate is the AI gateway binary.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/tidegate/tidegate/internal/app"
	"github.com/tidegate/tidegate/internal/config"
)

// version is stamped at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

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
	root.AddCommand(serveCmd(), lintCmd(), versionCmd(), keysCmd(), usageCmd())
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
			cfg, err := loadConfig(ctx, path)
			if err != nil {
				return err
			}
			a, err := app.New(ctx, cfg, versionString(), logger)
			if err != nil {
				return err
			}
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
	var path string
	cmd := &cobra.Command{
		Use:   "lint",
		Short: "Validate a config file and report every problem with its path",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd.Context(), path)
			if err != nil {
				return err
			}
			warnings, err := app.Lint(cfg)
			if err != nil {
				return err
			}
			for _, w := range warnings {
				fmt.Fprintln(cmd.OutOrStdout(), "warning:", w)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %d providers, %d models, %d apis\n", len(cfg.Providers), len(cfg.Models), len(cfg.APIs))
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "", "config file (default $TIDEGATE_CONFIG)")
	return cmd
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "tidegate", versionString())
		},
	}
}

// loadConfig reads the file named by path or TIDEGATE_CONFIG, or builds the
// zero-config from the environment; TIDEGATE_LISTEN overrides listen.
func loadConfig(ctx context.Context, path string) (*config.Config, error) {
	if path == "" {
		path = os.Getenv("TIDEGATE_CONFIG")
	}
	var cfg *config.Config
	if path == "" {
		cfg = config.FromEnv(os.Getenv, app.ProbeOllama(ctx, config.OllamaURL(os.Getenv)))
	} else {
		var err error
		if cfg, err = config.Load(path, os.Getenv); err != nil {
			return nil, err
		}
	}
	if l := os.Getenv("TIDEGATE_LISTEN"); l != "" {
		cfg.Listen = l
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
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
