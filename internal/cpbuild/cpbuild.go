// Package cpbuild builds the local control plane (kube-apiserver, etcd and kubectl) from their Go
// modules into the cache, once: `make test` and `prowl up` both call it, so a fresh machine needs
// nothing but Go. The module that pins their versions is embedded (module/*.txt: a directory
// holding a real go.mod would be a module of its own, which embed cannot reach), so the prowl
// binary can build them on first use wherever it runs.
//
// To update the versions: copy module/go.mod.txt, go.sum.txt and tools.go.txt into an empty
// directory without the .txt suffix, `go get` there, copy them back and change module/VERSION.
package cpbuild

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"k8s.io/utils/clock"
)

//go:embed module
var module embed.FS

// Binaries are the programs built, each from its Go package.
var Binaries = [][2]string{
	{"etcd", "go.etcd.io/etcd/server/v3"},
	{"kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver"},
	{"kubectl", "k8s.io/kubernetes/cmd/kubectl"},
}

// Version names the build: the Kubernetes and etcd versions.
func Version() string {
	raw, err := module.ReadFile("module/VERSION")
	if err != nil {
		panic(err) // embedded at compile time
	}
	return strings.TrimSpace(string(raw))
}

// Cache is Prowl's cache root: $PROWL_CACHE, else the user's cache dir (~/.cache) /prowl.
func Cache() string {
	if c := os.Getenv("PROWL_CACHE"); c != "" {
		return c
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = filepath.Join(os.Getenv("HOME"), ".cache")
	}
	return filepath.Join(base, "prowl")
}

// Dir is where this version's binaries go.
func Dir() string { return filepath.Join(Cache(), "bin", Version()) }

// Ready says whether dir holds every binary.
func Ready(dir string) bool {
	for _, b := range Binaries {
		if info, err := os.Stat(filepath.Join(dir, b[0])); err != nil || info.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// Ensure returns Dir, building the binaries into it first when they are not there, with progress
// on w. The build goes to a temporary directory beside Dir and is renamed into place, so an
// interrupted build leaves nothing half-made.
func Ensure(ctx context.Context, w io.Writer) (string, error) {
	return ensure(ctx, w, clock.RealClock{})
}

// ensure is Ensure with the clock that times the build and its progress reports.
func ensure(ctx context.Context, w io.Writer, clk clock.WithTicker) (string, error) {
	dest := Dir()
	if Ready(dest) {
		return dest, nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the control plane is not in %s and there is no Go toolchain to build it: install Go 1.26 (or put kube-apiserver, etcd and kubectl, %s, there)", dest, Version())
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dest), ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "src")
	out := filepath.Join(tmp, "bin")
	if err := writeModule(src); err != nil {
		return "", err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	fmt.Fprintf(w, "Building the control plane (%s) into %s.\n", Version(), dest)
	fmt.Fprintf(w, "This happens once; cold, it takes about 7 minutes on 2 cores (module downloads included).\n")
	start := clk.Now()
	for i, b := range Binaries {
		step := fmt.Sprintf("[%d/%d] %s", i+1, len(Binaries), b[0])
		fmt.Fprintf(w, "  %s: building %s...\n", step, b[1])
		if err := buildOne(ctx, clk, w, step, goBin, src, filepath.Join(out, b[0]), b[1]); err != nil {
			return "", fmt.Errorf("build %s: %w", b[0], err)
		}
		fmt.Fprintf(w, "  %s: built after %s\n", step, clk.Since(start).Round(time.Second))
	}
	if err := os.RemoveAll(dest); err != nil {
		return "", err
	}
	if err := os.Rename(out, dest); err != nil {
		if Ready(dest) { // another build finished first
			return dest, nil
		}
		return "", err
	}
	fmt.Fprintf(w, "Control plane ready in %s (%s).\n", dest, clk.Since(start).Round(time.Second))
	return dest, nil
}

// buildOne builds pkg into bin with `go build -v`, saying every ProgressInterval how many of its
// packages are built.
func buildOne(ctx context.Context, clk clock.WithTicker, w io.Writer, step, goBin, src, bin, pkg string) error {
	var total atomic.Int64
	log := &buildLog{w: w}
	reportCtx, stop := context.WithCancel(ctx)
	defer stop()
	go reportProgress(reportCtx, clk, w, step, &total, &log.built)
	n, err := packageCount(ctx, goBin, src, pkg)
	if err != nil {
		return err
	}
	total.Store(int64(n))
	cmd := exec.CommandContext(ctx, goBin, "build", "-v", "-mod=readonly", "-trimpath", "-ldflags=-s -w", "-o", bin, pkg)
	cmd.Dir = src
	cmd.Env = buildEnv()
	cmd.Stdout, cmd.Stderr = w, log
	return cmd.Run()
}

func writeModule(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := module.ReadDir("module")
	if err != nil {
		return err
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".txt")
		if !ok {
			continue
		}
		raw, err := module.ReadFile("module/" + e.Name())
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return errors.New("cpbuild: the embedded module has no go.mod")
	}
	return nil
}
