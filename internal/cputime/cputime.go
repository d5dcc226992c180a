// Package cputime reads the process's CPU time for benchmarks that report
// CPU per operation ("cpu-ns/op"), which other work on a shared machine
// inflates far less than ns/op.
package cputime

import (
	"testing"
	"time"
)

// Report adds cpu-ns/op to b: the CPU time used since start (a Process
// reading) divided by b.N. Nothing is reported where the time is unknown.
func Report(b *testing.B, start time.Duration) {
	if used := Process() - start; used > 0 && b.N > 0 {
		b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
