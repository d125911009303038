package main

import (
	"fmt"
	"os"

	"github.com/prowl-ci/prowl/bench"
	benchimages "github.com/prowl-ci/prowl/bench/images"
	"github.com/prowl-ci/prowl/internal/images"
)

// imageBuild times `make images` against the same go builds alone and reports compressed sizes
// (targets: entrypoint ≤ 5 MB, prowl ≤ 40 MB) and their sum, beside Prow's ~40 images.
func imageBuild(root string, runs int) (bench.Result, error) {
	var results []images.Result
	var skipped []images.Skipped
	prowl, err := bench.Measure(runs, func() error {
		var err error
		results, skipped, err = benchimages.Build(root)
		return err
	})
	if err != nil {
		return bench.Result{}, fmt.Errorf("images: %w", err)
	}
	base, err := bench.Measure(runs, func() error { return benchimages.GoBuildOnly(root) })
	if err != nil {
		return bench.Result{}, err
	}
	sizes, sum, text := benchimages.Sizes(results)
	notes := fmt.Sprintf("linux/amd64 compressed: %s; sum %.1f MB for %d images (Prow ships about 40 images); both platforms built (clonerefs: see below)", text, float64(sum)/1e6, len(results))
	for _, s := range skipped {
		notes += "; skipped " + s.Spec.Name + " (set CLONEREFS_BASE)"
	}
	if os.Getenv("CLONEREFS_BASE") != "" {
		notes += "; clonerefs on " + os.Getenv("CLONEREFS_BASE")
	} else {
		notes += "; clonerefs on this machine's git (the default base), for its platform only"
	}
	return bench.Result{
		Name:     "images: build prowl and the pod utilities (OCI, amd64+arm64) vs the same go builds alone",
		Prowl:    prowl.Median,
		Baseline: base.Median,
		Ratio:    float64(prowl.Median) / float64(base.Median),
		Target:   "entrypoint ≤ 5 MB, prowl ≤ 40 MB compressed",
		Met:      sizes["entrypoint"] > 0 && sizes["entrypoint"] <= 5e6 && sizes["prowl"] > 0 && sizes["prowl"] <= 40e6,
		Notes:    notes,
	}, nil
}
