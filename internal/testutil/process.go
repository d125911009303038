package testutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// KillLeavesNothing starts cmd, waits for a process it starts to write its PID into pidFile,
// SIGKILLs cmd and fails the test unless that process ends too (is gone, or is a zombie waiting
// for whoever adopted it to reap it): what a killed process started must not run on.
func KillLeavesNothing(t *testing.T, cmd *exec.Cmd, pidFile string) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	if err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		raw, _ := os.ReadFile(pidFile)
		var err error
		pid, err = strconv.Atoi(strings.TrimSpace(string(raw)))
		return err == nil, nil
	}); err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("%s never started the process that writes %s", cmd.Path, pidFile)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		return err != nil || strings.Contains(string(stat), ") Z "), nil
	}); err != nil {
		t.Errorf("process %d still runs after %s, which started it, was killed", pid, cmd.Path)
	}
}
