package cpbuild

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The embedded module resolves every binary's package with its own go.sum, as the build needs.
func TestEmbeddedModuleResolves(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := writeModule(dir); err != nil {
		t.Fatal(err)
	}
	args := []string{"list", "-mod=readonly"}
	for _, b := range Binaries {
		args = append(args, b[1])
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go list in the embedded module: %v\n%s", err, out)
	}
}

func TestEnsure(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("PROWL_CACHE", cache)
	t.Setenv("PATH", "")
	_, err := Ensure(context.Background(), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no Go toolchain") || !strings.Contains(err.Error(), filepath.Join(cache, "bin", Version())) {
		t.Fatalf("without binaries or Go: %v, want an error naming the directory and what to install", err)
	}
	for _, b := range Binaries {
		if err := os.MkdirAll(Dir(), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(Dir(), b[0]), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if dir, err := Ensure(context.Background(), io.Discard); err != nil || dir != filepath.Join(cache, "bin", Version()) {
		t.Fatalf("with the binaries there: %q, %v", dir, err)
	}
}
