// Package images measures `make images`: the time to build Prowl's images (every binary for
// linux/amd64 and linux/arm64, assembled into OCI layouts) against the baseline of the same
// `go build` runs alone, which any image build must do, and each image's compressed size.
package images

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"k8s.io/utils/clock"

	"github.com/prowl-ci/prowl/internal/images"
)

// Build builds every image into a temporary directory and returns the results (clonerefs on
// CLONEREFS_BASE, or by default on this machine's git for this machine's platform, as in
// `make images`).
func Build(root string) ([]images.Result, []images.Skipped, error) {
	out, err := os.MkdirTemp("", "prowl-bench-images-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(out)
	o := images.Options{ModuleRoot: root, OutDir: out, Tag: "bench", Revision: "bench", GitBase: os.Getenv("CLONEREFS_BASE")}
	return images.Build(context.Background(), o, clock.RealClock{})
}

// GoBuildOnly runs the same `go build` commands as Build, with nothing else.
func GoBuildOnly(root string) error {
	out, err := os.MkdirTemp("", "prowl-bench-gobuild-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(out)
	for _, spec := range images.Specs() {
		for _, p := range images.DefaultPlatforms() {
			if spec.NeedsGit && os.Getenv("CLONEREFS_BASE") == "" && p.Architecture != runtime.GOARCH {
				continue // the default git base is this machine's platform only, as in Build
			}
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", filepath.Join(out, p.Architecture, spec.Name), spec.Package)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Architecture)
			if b, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("go build %s: %w\n%s", spec.Package, err, b)
			}
		}
	}
	return nil
}

// Sizes describes each image's compressed size on amd64 and the sum over the images.
func Sizes(results []images.Result) (perImage map[string]int64, sum int64, text string) {
	perImage = map[string]int64{}
	var parts []string
	for _, r := range results {
		size := r.Compressed["linux/amd64"]
		perImage[r.Spec.Name] = size
		sum += size
		parts = append(parts, fmt.Sprintf("%s %.1f MB", r.Spec.Name, float64(size)/1e6))
	}
	sort.Strings(parts)
	return perImage, sum, strings.Join(parts, ", ")
}
