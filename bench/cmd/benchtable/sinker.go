package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/prowl-ci/prowl/bench"
	"github.com/prowl-ci/prowl/bench/sinkerpass"
)

// sinkerPass plans one Sinker pass over 50,000 ProwJobs and 20,000 Pods in the caches (5,000
// due) against one list of them from the API server, then deletes the 5,000 against a plain
// client-go loop at the same QPS.
func sinkerPass(_ string, runs int) (bench.Result, error) {
	ctx := context.Background()
	// PROWL_SINKER_BENCH_DIV=10 runs a tenth of the sizes, to check the harness quickly.
	if div, err := strconv.Atoi(os.Getenv("PROWL_SINKER_BENCH_DIV")); err == nil {
		sinkerpass.Scale(div)
	}
	s, err := sinkerpass.New(ctx)
	if err != nil {
		if s != nil {
			s.Stop()
		}
		return bench.Result{}, err
	}
	defer s.Stop()
	plan, err := bench.Measure(runs, s.Plan)
	if err != nil {
		return bench.Result{}, err
	}
	planCPU, err := bench.MeasureCPU(runs, s.Plan)
	if err != nil {
		return bench.Result{}, err
	}
	list, err := bench.Measure(runs, s.ListBaseline)
	if err != nil {
		return bench.Result{}, err
	}
	// The baseline goes first, and once more after Sinker: the first deletes after the fill
	// meet an API server still busy with it, and both should meet the same one.
	base1, err := s.DeleteBaseline()
	if err != nil {
		return bench.Result{}, err
	}
	del, err := s.DeletePass()
	if err != nil {
		return bench.Result{}, err
	}
	base2, err := s.DeleteBaseline()
	if err != nil {
		return bench.Result{}, err
	}
	base := min(base1, base2)
	throughput := float64(base) / float64(del)
	return bench.Result{
		Name:  fmt.Sprintf("sinker pass: %d ProwJobs, %d Pods cached, %d due", sinkerpass.ProwJobs, sinkerpass.Pods, sinkerpass.DueJobs+sinkerpass.DuePods),
		Prowl: planCPU, Baseline: list.Median, Ratio: float64(planCPU) / float64(list.Median),
		Target: "pass ≤ 200 ms CPU; deletes ≥ 0.8 of client-go's rate", Met: planCPU <= 200*time.Millisecond && throughput >= 0.8,
		Notes: fmt.Sprintf("the pass's median process CPU (wall %v, %d allocs) vs one API list; deletes: Sinker %v, client-go loop %v at %d QPS: %.2f of its rate",
			plan.Median.Round(time.Millisecond), plan.Allocs, del.Round(time.Millisecond), base.Round(time.Millisecond), sinkerpass.QPS, throughput),
	}, nil
}
