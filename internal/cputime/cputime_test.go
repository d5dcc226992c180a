package cputime

import "testing"

func TestProcessGrowsWithWork(t *testing.T) {
	start := Process()
	x := 0
	for i := range 50_000_000 {
		x += i % 7
	}
	if x == 0 || Process() <= start {
		t.Fatalf("CPU time did not grow: %v → %v", start, Process())
	}
}
