package main

import (
	"fmt"
	"time"

	"github.com/prowl-ci/prowl/bench"
	"github.com/prowl-ci/prowl/bench/nodeimages"
)

// nodeImages times a one-container Pod on the local node, from RunOnce to the container's end:
// in a cached image and in a 50 MB image first pulled from loopback, against the host's
// filesystem in the same run (targets: cached adds ≤ 150 ms p50; first pull ≤ 3 s).
func nodeImages(root string, runs int) (bench.Result, error) {
	b, err := nodeimages.New(root)
	if err != nil {
		return bench.Result{}, err
	}
	defer b.Stop()
	host, err := bench.Measure(runs, b.HostFilesystem)
	if err != nil {
		return bench.Result{}, err
	}
	cached, err := bench.Measure(runs, b.Cached)
	if err != nil {
		return bench.Result{}, err
	}
	first, err := bench.Measure(max(runs/2, 3), b.FirstPull)
	if err != nil {
		return bench.Result{}, err
	}
	added := cached.Median - host.Median
	return bench.Result{
		Name:     "local node: Pod start to end of `true`, in a cached image vs the host's filesystem",
		Prowl:    cached.Median,
		Baseline: host.Median,
		Ratio:    float64(cached.Median) / float64(host.Median),
		Target:   "cached image adds ≤ 150 ms p50; first pull of 50 MB from loopback ≤ 3 s",
		Met:      added <= 150*time.Millisecond && first.Median <= 3*time.Second,
		Notes:    fmt.Sprintf("cached image adds %v; first pull of the %d MB image (pull, unpack, run) %v", added.Round(time.Millisecond), nodeimages.BigImageBytes>>20, first.Median.Round(time.Millisecond)),
	}, nil
}
