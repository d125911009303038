// Package upstart measures `prowl up` as a user runs it, binaries already built: from start to
// every job final, and the local node's overhead from a Pod bound to its test container started.
package upstart

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// Build builds prowl and the pod utilities into dir.
func Build(repoRoot, dir string) error {
	cmd := exec.Command("go", "build", "-o", dir+"/", "./cmd/...")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build: %w\n%s", err, out)
	}
	return nil
}

// Result is one run.
type Result struct {
	// Ready is from start to the control plane's kubeconfig; Final from start to every job final.
	Ready, Final time.Duration
	// Overheads are the node's, from binding each Pod to starting its test container.
	Overheads []time.Duration
}

// Run starts `prowl up` on a fresh data dir with jobs periodics that each run `true`, and waits
// until every one is final.
func Run(repoRoot, bin string, jobs int) (Result, error) {
	dir, err := os.MkdirTemp("", "prowl-up-bench-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	example, err := os.ReadFile(filepath.Join(repoRoot, "examples", "config.yaml"))
	if err != nil {
		return Result{}, err
	}
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(string(example), "PROWL_DATA_DIR", dir)), 0o644); err != nil {
		return Result{}, err
	}
	var b strings.Builder
	b.WriteString("periodics:\n")
	for i := range jobs {
		fmt.Fprintf(&b, "- {name: bench-%d, interval: 1h, decorate: true, spec: {containers: [{image: alpine, command: [\"true\"]}]}}\n", i)
	}
	jobsPath := filepath.Join(dir, "jobs.yaml")
	if err := os.WriteFile(jobsPath, []byte(b.String()), 0o644); err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "prowl"), "up", "--data-dir", dir, "--config-path", cfg, "--job-config-path", jobsPath)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return Result{}, err
	}
	if err := cmd.Start(); err != nil {
		return Result{}, err
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	var mu sync.Mutex
	var r Result
	go func() {
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			var line struct {
				Msg    string `json:"msg"`
				Micros int64  `json:"sinceBoundMicros"`
			}
			if json.Unmarshal(s.Bytes(), &line) == nil && line.Msg == "test container started" {
				mu.Lock()
				r.Overheads = append(r.Overheads, time.Duration(line.Micros)*time.Microsecond)
				mu.Unlock()
			}
		}
	}()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := wait.PollUntilContextCancel(ctx, 20*time.Millisecond, true, func(context.Context) (bool, error) {
		_, err := os.Stat(kubeconfig)
		return err == nil, nil
	}); err != nil {
		return Result{}, fmt.Errorf("no kubeconfig: %w", err)
	}
	r.Ready = time.Since(start)
	restCfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return Result{}, err
	}
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = prowv1.AddToScheme(scheme)
	c, err := client.New(restCfg, client.Options{Scheme: scheme})
	if err != nil {
		return Result{}, err
	}
	err = wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		var list prowv1.ProwJobList
		if err := c.List(ctx, &list, client.InNamespace("default")); err != nil {
			return false, nil
		}
		done := 0
		for _, pj := range list.Items {
			if pj.Complete() {
				done++
			}
		}
		return done == jobs, nil
	})
	if err != nil {
		return Result{}, fmt.Errorf("jobs never all finished: %w", err)
	}
	r.Final = time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	sort.Slice(r.Overheads, func(i, j int) bool { return r.Overheads[i] < r.Overheads[j] })
	return r, nil
}

// Percentile of sorted durations.
func Percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)*p/100, len(d)-1)]
}
