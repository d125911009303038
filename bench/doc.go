// Package bench holds Prowl's benchmarks. Each measures Prowl and a baseline doing the same work in
// the same run on the same machine, and reports the ratio, so that a noisy shared machine moves both
// alike. `make bench` runs them all (bench/cmd/benchtable) and prints one table.
package bench

import "time"

// Result is one benchmark's row in the table.
type Result struct {
	Name     string
	Prowl    time.Duration
	Baseline time.Duration
	// Ratio is Prowl's time over the baseline's: below 1 is faster.
	Ratio float64
	// Notes carry allocations, memory and latencies.
	Notes string
	// Target says what the issue asks, and Met whether this run met it.
	Target string
	Met    bool
}
