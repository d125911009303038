package cpbuild

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/utils/clock"
)

// ProgressInterval is how often a build says how far along it is: a person watching a 9-minute
// build must see it move.
const ProgressInterval = 30 * time.Second

// packageCount is how many packages the build of pkg compiles at most: pkg and its dependencies,
// the standard library's included. Resolving them also downloads the modules the build needs.
func packageCount(ctx context.Context, goBin, dir, pkg string) (int, error) {
	cmd := exec.CommandContext(ctx, goBin, "list", "-mod=readonly", "-deps", "-f", "{{.ImportPath}}", pkg)
	cmd.Dir = dir
	cmd.Env = buildEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("list the packages of %s: %w\n%s", pkg, err, stderr.String())
	}
	return bytes.Count(out, []byte("\n")), nil
}

// buildEnv is the environment of the go commands: the embedded module on its own.
func buildEnv() []string { return append(os.Environ(), "GOWORK=off", "GOFLAGS=") }

// buildLog reads `go build -v`'s stderr: each line naming a package (an import path, no spaces)
// is one package built; anything else (a compile error) goes on to w.
type buildLog struct {
	built   atomic.Int64
	w       io.Writer
	mu      sync.Mutex
	partial []byte
}

func (b *buildLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.partial = append(b.partial, p...)
	for {
		i := bytes.IndexByte(b.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(b.partial[:i])
		b.partial = b.partial[i+1:]
		if line != "" && !strings.ContainsAny(line, " \t:#") {
			b.built.Add(1)
			continue
		}
		fmt.Fprintln(b.w, line)
	}
}

// reportProgress prints, every ProgressInterval until ctx ends, what step is doing: how long it
// has run, and, once total is known (> 0), how many of its packages are built.
func reportProgress(ctx context.Context, clk clock.WithTicker, w io.Writer, step string, total *atomic.Int64, built *atomic.Int64) {
	start := clk.Now()
	t := clk.NewTicker(ProgressInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		elapsed := clk.Since(start).Round(time.Second)
		n := total.Load()
		if n <= 0 {
			fmt.Fprintf(w, "  %s: resolving and downloading modules, %s elapsed\n", step, elapsed)
			continue
		}
		done := built.Load()
		fmt.Fprintf(w, "  %s: %d of %d packages built (%d%%), %s elapsed\n", step, done, n, done*100/n, elapsed)
	}
}
