// Command images builds Prowl's images without a Docker engine (`make images`; see
// internal/images and docs/deploy.md). Settings come from the environment, as make passes them:
// IMAGES_DIR, REGISTRY, TAG, PLATFORMS, STATIC_BASE, CLONEREFS_BASE (default: this machine's git),
// SOURCE_DATE_EPOCH. With REGISTRY set it pushes the images and points the deploy config, the
// kustomize base and a Helm values file at them by tag and digest.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"k8s.io/utils/clock"

	"github.com/prowl-ci/prowl/internal/images"
)

// prowlImageName is the prowl image's name in deploy/base/kustomization.yaml's `images`.
const prowlImageName = "ghcr.io/prowl-ci/prowl"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "images: %v\n", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	o, err := options()
	if err != nil {
		return err
	}
	results, skipped, err := images.Build(ctx, o, clock.RealClock{})
	for _, s := range skipped {
		fmt.Fprintf(os.Stderr, "images: skipped %s: %s\n", s.Spec.Name, s.Reason)
	}
	if err != nil {
		return err
	}
	for _, r := range results {
		fmt.Printf("%-11s %s  %s  %s\n", r.Spec.Name, r.Digest, sizes(r), r.Layout)
		for p, why := range r.LeftOut {
			fmt.Fprintf(os.Stderr, "images: %s has no %s image: %s; set CLONEREFS_BASE to a base with git for every platform\n", r.Spec.Name, p, why)
		}
	}
	if o.Registry == "" {
		fmt.Println("REGISTRY is not set: the images are in the OCI layouts above, not pushed")
		return nil
	}
	return pointDeployAt(o.OutDir, images.RefsOf(results))
}

// pointDeployAt writes the pushed references into the deploy config, the kustomize base and a
// Helm values file.
func pointDeployAt(outDir string, refs images.Refs) error {
	for _, cfg := range []string{"deploy/base/config/config.yaml", "deploy/helm/prowl/files/config.yaml"} {
		if _, err := images.UpdateDeployConfig(cfg, refs); err != nil {
			return err
		}
	}
	if _, err := images.UpdateKustomization("deploy/base/kustomization.yaml", prowlImageName, refs); err != nil {
		return err
	}
	values, err := images.HelmValues(refs)
	if err != nil {
		return err
	}
	path := filepath.Join(outDir, "values.yaml")
	if err := os.WriteFile(path, values, 0o644); err != nil {
		return err
	}
	fmt.Printf("deploy/base/config/config.yaml and deploy/base/kustomization.yaml now name the pushed images; Helm: -f %s\n", path)
	return nil
}

func options() (images.Options, error) {
	root, err := os.Getwd()
	if err != nil {
		return images.Options{}, err
	}
	o := images.Options{
		ModuleRoot: root,
		OutDir:     env("IMAGES_DIR", "build/images"),
		Registry:   strings.TrimSuffix(os.Getenv("REGISTRY"), "/"),
		StaticBase: os.Getenv("STATIC_BASE"),
		GitBase:    os.Getenv("CLONEREFS_BASE"),
		Source:     env("SOURCE_URL", "https://github.com/prowl-ci/prowl"),
		Log:        func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) },
	}
	o.Revision = git(root, "rev-parse", "HEAD")
	dirty := git(root, "status", "--porcelain") != ""
	o.Tag = os.Getenv("TAG")
	if o.Tag == "" && len(o.Revision) >= 12 {
		o.Tag = o.Revision[:12]
		if dirty {
			o.Tag += "-dirty"
		}
	}
	epoch := env("SOURCE_DATE_EPOCH", git(root, "log", "-1", "--format=%ct"))
	if epoch != "" {
		secs, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil {
			return o, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want seconds since 1970", epoch)
		}
		o.Created = time.Unix(secs, 0)
	}
	if p := os.Getenv("PLATFORMS"); p != "" {
		for _, s := range strings.Split(p, ",") {
			plat, err := v1.ParsePlatform(strings.TrimSpace(s))
			if err != nil {
				return o, fmt.Errorf("PLATFORMS: %w (want e.g. linux/amd64,linux/arm64)", err)
			}
			o.Platforms = append(o.Platforms, *plat)
		}
	}
	return o, nil
}

func sizes(r images.Result) string {
	var parts []string
	for _, p := range images.DefaultPlatforms() {
		if s, ok := r.Compressed[p.OS+"/"+p.Architecture]; ok {
			parts = append(parts, fmt.Sprintf("%s %.1f MB", p.Architecture, float64(s)/1e6))
		}
	}
	return strings.Join(parts, ", ")
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func git(dir string, args ...string) string {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
