package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/prowl-ci/prowl/bench"
	deckbench "github.com/prowl-ci/prowl/bench/deck"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// deckJobs is how many ProwJobs Deck's cache holds in the benchmark; $PROWL_DECK_BENCH_JOBS
// sets fewer for a quick run on a busy machine.
func deckJobs() int {
	if n, err := strconv.Atoi(os.Getenv("PROWL_DECK_BENCH_JOBS")); err == nil && n > 0 {
		return n
	}
	return 50000
}

func deckList(root string, runs int) (bench.Result, error) {
	env, err := testutil.StartEnv()
	if err != nil {
		return bench.Result{}, fmt.Errorf("deck needs the control plane (make bench builds it): %w", err)
	}
	defer func() { _ = env.Stop() }()
	r, err := deckbench.Run(context.Background(), env, root, deckJobs(), runs)
	if err != nil {
		return bench.Result{}, err
	}
	ratio := float64(r.ProwJobsJS.P50) / float64(r.BaselineJS)
	worst := max(r.List.P99, r.Filter.P99)
	return bench.Result{
		Name:     fmt.Sprintf("deck: %d ProwJobs from test-infra's jobs in the cache; /prowjobs.js?omit=… p50 vs encoding/json of the same list from the same cache", r.Jobs),
		Prowl:    r.ProwJobsJS.P50,
		Baseline: r.BaselineJS,
		Ratio:    ratio,
		Met:      worst <= 50*time.Millisecond && ratio <= 1/0.8 && r.RSSMB <= 400 && r.LiveP99 <= time.Second,
		Target:   "list p99 ≤ 50 ms; /prowjobs.js ≥ 0.8× baseline throughput; RSS ≤ 400 MB; state change on page p99 ≤ 1 s",
		Notes: fmt.Sprintf("%s; %s; %s; %s; RSS %.0f MB; state change → open page p50 %v p99 %v (%.0fs to create the jobs)",
			r.List, r.Filter, r.Badge, r.ProwJobsJS, r.RSSMB, r.LiveP50.Round(100*time.Microsecond), r.LiveP99.Round(100*time.Microsecond), r.CreateSeconds),
	}, nil
}
