package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// userHZ is the clock tick of utime/stime in /proc/<pid>/stat
// (getconf CLK_TCK; 100 on Linux/amd64).
const userHZ = 100

// cpuTime is the user+system CPU time a process has used so far,
// all threads included.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu time: %w", err)
	}
	// The command name (field 2) may hold spaces; fields after it start
	// after the last ')'. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("cpu time: malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	const utime = 14 - 3 // index in f, which starts at field 3
	if len(f) <= utime+1 {
		return 0, fmt.Errorf("cpu time: short /proc/%d/stat", pid)
	}
	var ticks int64
	for _, s := range f[utime : utime+2] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("cpu time: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// peakRSS is VmHWM from /proc/<pid>/status: the peak resident set size in
// bytes since the process started or since resetPeakRSS.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("peak rss: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("peak rss: %w", err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("peak rss: no VmHWM in /proc/%d/status", pid)
}

// resetPeakRSS sets VmHWM back to the current RSS (Linux ≥ 4.0), so the
// next peakRSS covers only what follows. It reports whether it worked.
func resetPeakRSS(pid int) bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
}

// runReaper is run.sh's safety net: it sends SIGTERM to -pids when the
// -parent process is gone (run.sh killed without running its trap) or when
// -after has passed (then to the parent too). It exits when signalled.
func runReaper(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("reaper", flag.ContinueOnError)
	parent := fs.Int("parent", 0, "pid of the driver script")
	list := fs.String("pids", "", "comma-separated pids to stop")
	after := fs.Duration("after", 10*time.Minute, "stop everything after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pids, err := parsePIDs(*list)
	if err != nil {
		return err
	}
	if *parent <= 0 {
		return errors.New("reaper: -parent is required")
	}
	const tick = 500 * time.Millisecond
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	for i := int64(0); i < int64(*after/tick); i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		if syscall.Kill(*parent, 0) != nil {
			killAll(pids)
			return nil
		}
	}
	fmt.Fprintf(os.Stderr, "reaper: %s passed, stopping the benchmark\n", *after)
	killAll(append(pids, *parent))
	return nil
}

func killAll(pids []int) {
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
}

// coreBusy is the time core cpu has spent busy (anything but idle and
// iowait) since boot, from the cpuN line of /proc/stat.
func coreBusy(cpu int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("core busy: %w", err)
	}
	prefix := fmt.Sprintf("cpu%d ", cpu)
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		// user nice system idle iowait irq softirq steal …
		f := strings.Fields(rest)
		if len(f) < 8 {
			return 0, fmt.Errorf("core busy: short %q line", prefix)
		}
		var ticks int64
		for i, s := range f[:8] {
			if i == 3 || i == 4 { // idle, iowait
				continue
			}
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("core busy: %w", err)
			}
			ticks += n
		}
		return time.Duration(ticks) * time.Second / userHZ, nil
	}
	return 0, fmt.Errorf("core busy: no cpu%d in /proc/stat", cpu)
}
