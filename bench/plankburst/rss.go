package plankburst

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prowl-ci/prowl/internal/testutil"
)

// ManagerRSS fills a namespace with n ProwJobs (for another agent, so Plank only caches them),
// starts the real `prowl controller-manager` binary on it, and returns its peak RSS in MB once
// its cache holds them and its workers run.
func ManagerRSS(ctx context.Context, env *testutil.Env, prowl string, n int) (float64, error) {
	ns, err := newNamespace(ctx, env)
	if err != nil {
		return 0, err
	}
	c, _, err := throttled(env)
	if err != nil {
		return 0, err
	}
	err = parallel(n, func(i int) error {
		pj := prowJob(ns, i)
		pj.Spec.Agent = "jenkins"
		return c.Create(ctx, pj)
	})
	if err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp("", "prowl-rss-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	kubeconfig, err := env.Kubeconfig(dir)
	if err != nil {
		return 0, err
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte("prowjob_namespace: "+ns+"\npod_namespace: "+ns+"\n"), 0o644); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prowl, "controller-manager", "--config-path", cfgPath, "--kubeconfig", kubeconfig,
		"--leader-elect=false", "--metrics-bind-address=0", "--health-probe-bind-address=0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	started := make(chan struct{})
	go func() {
		s := bufio.NewScanner(stderr)
		once := sync.Once{}
		for s.Scan() {
			if strings.Contains(s.Text(), "Starting workers") {
				once.Do(func() { close(started) })
			}
		}
	}()
	select {
	case <-started:
	case <-ctx.Done():
		return 0, fmt.Errorf("the controller-manager never started its workers")
	}
	time.Sleep(3 * time.Second) // let it settle after the initial list and reconciles
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, err := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1000, err
		}
	}
	return 0, fmt.Errorf("no VmHWM for the controller-manager")
}
