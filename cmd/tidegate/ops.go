package main

import (
	"context"
	"crypto/fips140"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tidegate/tidegate/internal/config"
)

// healthCmd probes a running gateway: the container HEALTHCHECK of an
// image without a shell or curl.
func healthCmd() *cobra.Command {
	var url, path string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "health",
		Short: "GET the gateway's /health (or --path) and exit 0 when it answers 200, 1 otherwise",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				url = healthURL(os.Getenv)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(url, "/")+path, nil)
			if err != nil {
				return err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return fmt.Errorf("unhealthy: %w", err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("unhealthy: %s: %s", resp.Status, strings.TrimSpace(string(body)))
			}
			fmt.Fprintln(cmd.OutOrStdout(), "ok", strings.TrimSpace(string(body)))
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "gateway base URL (default $TIDEGATE_URL, else http://<TIDEGATE_LISTEN with 0.0.0.0 as 127.0.0.1>)")
	cmd.Flags().StringVar(&path, "path", "/health", "path to probe (/health or /health/ready)")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "give up after this long")
	return cmd
}

// healthURL is where a gateway in this environment listens, as seen from
// the same host.
func healthURL(getenv func(string) string) string {
	if u := getenv("TIDEGATE_URL"); u != "" {
		return u
	}
	listen := getenv("TIDEGATE_LISTEN")
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://127.0.0.1:8080"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the VCS revision and the modules the binary was built from",
		Run: func(cmd *cobra.Command, _ []string) {
			writeVersion(cmd.OutOrStdout())
		},
	}
}

// writeVersion prints the build's provenance from the binary's own build
// information: what `go version -m` shows, from inside.
func writeVersion(w io.Writer) {
	fmt.Fprintln(w, "tidegate", versionString())
	fmt.Fprintf(w, "go\t%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fips := "off"
	if fips140.Enabled() {
		fips = "on"
	}
	if revision != "" {
		fmt.Fprintf(w, "revision\t%s\n", revision)
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintf(w, "fips140\t%s\n(no build information)\n", fips)
		return
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision", "vcs.time", "vcs.modified", "CGO_ENABLED", "GOFIPS140", "-ldflags":
			fmt.Fprintf(w, "%s\t%s\n", s.Key, s.Value)
		}
	}
	fmt.Fprintf(w, "fips140\t%s\n", fips)
	fmt.Fprintf(w, "module\t%s\t%s\n", bi.Main.Path, bi.Main.Version)
	for _, d := range bi.Deps {
		v := d.Version
		if d.Replace != nil {
			v += " => " + d.Replace.Path + " " + d.Replace.Version
		}
		fmt.Fprintf(w, "dep\t%s\t%s\t%s\n", d.Path, v, d.Sum)
	}
}

// envCmd lists the environment overrides of every config field.
func envCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "env",
		Short: "List every TIDEGATE_* variable that overrides a config field",
		Run: func(cmd *cobra.Command, _ []string) {
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			for _, r := range config.EnvReference() {
				fmt.Fprintf(w, "%s\t%s\n", r[0], r[1])
			}
			w.Flush()
		},
	}
}
