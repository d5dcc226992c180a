// Command loadbench is tidegate's load benchmark toolkit. One binary, with
// these subcommands:
//
//	loadbench upstream -listen 127.0.0.1:PORT     fake OpenAI + Anthropic server
//	loadbench floor -listen 127.0.0.1:PORT -upstream http://127.0.0.1:PORT
//	                                              minimal JSON-decoding reverse proxy
//	loadbench load -addr http://127.0.0.1:PORT …  closed-loop load generator
//	loadbench report results.jsonl                markdown tables from load results
//	loadbench freeport | wait | reaper            helpers for bench/run.sh
//	loadbench newkey -addr http://127.0.0.1:PORT  create a virtual key (admin key from $TIDEGATE_ADMIN_KEY)
//	loadbench redis ping | clean -prefix P        check Redis, delete the benchmark's keys
//	loadbench mcpspec -ops 500 -out FILE          the OpenAPI spec of the MCP scenarios
//
// Everything binds to and dials 127.0.0.1 only. See bench/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "loadbench:", err)
		}
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: loadbench upstream|floor|load|report|freeport|wait|reaper|newkey|redis|mcpspec [flags]")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "upstream":
		return runUpstream(ctx, rest)
	case "floor":
		return runFloor(ctx, rest)
	case "load":
		return runLoad(ctx, rest)
	case "report":
		return runReport(rest)
	case "freeport":
		return runFreePort()
	case "wait":
		return runWait(ctx, rest)
	case "reaper":
		return runReaper(ctx, rest)
	case "newkey":
		return runNewKey(ctx, rest)
	case "redis":
		return runRedis(ctx, rest)
	case "mcpspec":
		return runMCPSpec(ctx, rest)
	default:
		return fmt.Errorf("unknown subcommand %q", cmd)
	}
}
