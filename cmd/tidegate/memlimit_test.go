package main

import (
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// TestSetMemoryLimit: a container limit becomes GOMEMLIMIT at 90%, and the
// environment's own settings win.
func TestSetMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	logger := slog.New(slog.DiscardHandler)

	unset := func(name string) {
		t.Setenv(name, "") // restored after the test
		os.Unsetenv(name)
	}
	unset("GOMEMLIMIT")
	unset("AUTOMEMLIMIT")
	const gib = 1 << 30
	setMemoryLimit(logger, memlimit.Limit(gib))
	if got, want := debug.SetMemoryLimit(-1), int64(gib*9/10); got < want-1 || got > want+1 {
		t.Errorf("1 GiB container: GOMEMLIMIT %d, want %d", got, want)
	}

	debug.SetMemoryLimit(math.MaxInt64)
	t.Setenv("AUTOMEMLIMIT", "off")
	setMemoryLimit(logger, memlimit.Limit(1<<30))
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("AUTOMEMLIMIT=off: GOMEMLIMIT %d, want unset", got)
	}

	unset("AUTOMEMLIMIT")
	t.Setenv("GOMEMLIMIT", "512MiB") // the runtime read it at start; Set must leave it alone
	setMemoryLimit(logger, memlimit.Limit(1<<30))
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("GOMEMLIMIT set: changed to %d", got)
	}
}
