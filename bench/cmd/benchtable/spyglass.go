package main

import (
	"fmt"
	"os"
	"time"

	"github.com/prowl-ci/prowl/bench"
	spyglassbench "github.com/prowl-ci/prowl/bench/spyglass"
)

// spyglassPages measures Spyglass: the 100 MB log's first screen (the row's times, against the
// raw client reading the same last page), the server's RSS growth for it, the 45,000-file
// directory and the 1,000-run history on the file bucket and fake-gcs (in the notes).
func spyglassPages(_ string, runs int) (bench.Result, error) {
	dir, err := os.MkdirTemp("", "prowl-bench-spyglass-")
	if err != nil {
		return bench.Result{}, err
	}
	defer os.RemoveAll(dir)
	e, err := spyglassbench.Setup(dir)
	if err != nil {
		return bench.Result{}, err
	}
	defer e.Close()
	screen, err := bench.Measure(runs, e.FirstScreen)
	if err != nil {
		return bench.Result{}, fmt.Errorf("spyglass first screen: %w", err)
	}
	raw, err := bench.Measure(runs, e.RawTail)
	if err != nil {
		return bench.Result{}, err
	}
	rss, err := e.RSSGrowthMB()
	if err != nil {
		return bench.Result{}, err
	}
	notes := fmt.Sprintf("100 MB log: first screen %v, RSS growth %.0f MB", screen.Median.Round(time.Millisecond), rss)
	met := screen.Median <= 200*time.Millisecond && rss <= 64
	for _, gcs := range []bool{false, true} {
		name := map[bool]string{false: "file", true: "fake-gcs"}[gcs]
		start := time.Now()
		if err := e.History(gcs); err != nil {
			return bench.Result{}, err
		}
		cold := time.Since(start)
		_, p99, err := spyglassbench.Latencies(max(runs*10, 30), func() error { return e.History(gcs) })
		if err != nil {
			return bench.Result{}, err
		}
		rawHist, err := bench.Measure(runs, func() error { return e.RawHistory(gcs) })
		if err != nil {
			return bench.Result{}, err
		}
		met = met && p99 <= 300*time.Millisecond && cold <= 300*time.Millisecond
		notes += fmt.Sprintf("; %s: history of 1,000 runs p99 %v, first load (nothing cached) %v (raw reads of the same page %v)", name, p99.Round(time.Millisecond), cold.Round(time.Millisecond), rawHist.Median.Round(time.Millisecond))
	}
	all, err := bench.Measure(runs, func() error { return e.ArtifactsListing(false) })
	if err != nil {
		return bench.Result{}, err
	}
	list, err := bench.Measure(runs, func() error { return e.RawListing(false) })
	if err != nil {
		return bench.Result{}, err
	}
	ratio := float64(all.Median) / float64(list.Median)
	met = met && ratio <= 1.5
	notes += fmt.Sprintf("; file: 45,000 artifacts, every page of Spyglass's listing %v vs the raw client listing every key %v (%.2f×)", all.Median.Round(time.Millisecond), list.Median.Round(time.Millisecond), ratio)
	return bench.Result{
		Name: "spyglass: 100 MB log first screen; 45,000 artifacts; 1,000-run history", Prowl: screen.Median, Baseline: raw.Median,
		Ratio: float64(screen.Median) / float64(raw.Median), Target: "first screen ≤ 200 ms, RSS growth ≤ 64 MB, artifacts ≤ 1.5× raw listing, history p99 ≤ 300 ms", Met: met, Notes: notes,
	}, nil
}
