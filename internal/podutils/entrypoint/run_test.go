package entrypoint

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prowl-ci/prowl/internal/podutils/entrypointoptions"
	"github.com/prowl-ci/prowl/internal/podutils/wrapper"
	"github.com/prowl-ci/prowl/internal/testutil"
)

func options(t *testing.T, args ...string) *entrypointoptions.Options {
	t.Helper()
	dir := t.TempDir()
	return &entrypointoptions.Options{
		Timeout: time.Minute, GracePeriod: time.Second, ArtifactDir: filepath.Join(dir, "artifacts"),
		Options: &wrapper.Options{Args: args, ProcessLog: filepath.Join(dir, "process-log.txt"), MarkerFile: filepath.Join(dir, "marker-file.txt")},
	}
}

func marker(t *testing.T, o *entrypointoptions.Options) int {
	t.Helper()
	code, err := wrapper.ReadMarker(o.MarkerFile)
	if err != nil {
		t.Fatalf("marker: %v", err)
	}
	return code
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"success", []string{"true"}, 0},
		{"failure", []string{"sh", "-c", "exit 3"}, 3},
		{"cannot start", []string{"/no/such/command"}, wrapper.InternalErrorCode},
		{"killed by a signal", []string{"sh", "-c", "kill -9 $$"}, 128 + 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := options(t, tc.args...)
			if got := Run(context.Background(), o, &bytes.Buffer{}); got != tc.want {
				t.Errorf("Run = %d, want %d", got, tc.want)
			}
			if got := marker(t, o); got != tc.want {
				t.Errorf("marker = %d, want %d", got, tc.want)
			}
			if _, err := os.Stat(o.ArtifactDir); err != nil {
				t.Errorf("artifact dir not created: %v", err)
			}
		})
	}
}

func TestOutputGoesBothWays(t *testing.T) {
	t.Parallel()
	o := options(t, "sh", "-c", "echo out; echo err >&2")
	var stdout bytes.Buffer
	if code := Run(context.Background(), o, &stdout); code != 0 {
		t.Fatalf("code %d", code)
	}
	log, err := os.ReadFile(o.ProcessLog)
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range []string{stdout.String(), string(log)} {
		if !strings.Contains(got, "out\n") || !strings.Contains(got, "err\n") {
			t.Errorf("output %q lacks stdout or stderr", got)
		}
	}
}

// TestTimeoutInterruptsThenKills: a command that ignores SIGINT is killed after the grace period;
// one that handles it gets to finish. Both record 127.
func TestTimeoutInterruptsThenKills(t *testing.T) {
	t.Parallel()
	stubborn := options(t, "sh", "-c", `trap "echo ignoring INT" INT; while :; do sleep 0.05; done`)
	stubborn.Timeout, stubborn.GracePeriod = 300*time.Millisecond, 300*time.Millisecond
	var out bytes.Buffer
	if code := Run(context.Background(), stubborn, &out); code != wrapper.InternalErrorCode {
		t.Errorf("code %d, want %d", code, wrapper.InternalErrorCode)
	}
	for _, want := range []string{"did not finish before its 300ms timeout", "ignoring INT", "killing it"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if marker(t, stubborn) != wrapper.InternalErrorCode {
		t.Error("marker is not 127")
	}

	polite := options(t, "sh", "-c", `trap "echo cleaning up; exit 0" INT; while :; do sleep 0.05; done`)
	polite.Timeout, polite.GracePeriod = 300*time.Millisecond, time.Minute
	out.Reset()
	if code := Run(context.Background(), polite, &out); code != wrapper.InternalErrorCode || strings.Contains(out.String(), "killing") || !strings.Contains(out.String(), "cleaning up") {
		t.Errorf("code %d, output:\n%s", code, out.String())
	}
}

func TestMarkerWrittenWhenLogDirUnwritable(t *testing.T) {
	t.Parallel()
	// Root may write to any directory, so the log's "directory" is a file, which nobody can write in.
	o := options(t, "true")
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	o.ProcessLog = filepath.Join(blocker, "process-log.txt") // a file cannot hold a directory
	if code := Run(context.Background(), o, &bytes.Buffer{}); code != wrapper.InternalErrorCode {
		t.Errorf("code %d, want %d", code, wrapper.InternalErrorCode)
	}
	if marker(t, o) != wrapper.InternalErrorCode {
		t.Error("marker is not 127")
	}
}

// TestBinary checks the built binary: its size, copy mode, and that a SIGTERM to it is forwarded
// to the command as SIGINT, recorded as 130.
func TestBinary(t *testing.T) {
	t.Parallel()
	bin := testutil.BuildBinary(t, "./cmd/entrypoint")
	info, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() > 4<<20 {
		t.Errorf("entrypoint is %d bytes; it must stay at most 4 MB", info.Size())
	}

	dest := filepath.Join(t.TempDir(), "tools", "entrypoint")
	if out, err := exec.Command(bin, "--copy-mode-only", dest).CombinedOutput(); err != nil {
		t.Fatalf("copy mode: %v %s", err, out)
	}
	if copied, err := os.Stat(dest); err != nil || copied.Size() != info.Size() || copied.Mode()&0o111 == 0 {
		t.Errorf("copy: %v %v", copied, err)
	}

	o := options(t, "sh", "-c", `trap "echo got INT; exit 5" INT; echo ready; while :; do sleep 0.05; done`)
	o.GracePeriod = 10 * time.Second
	raw, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dest)
	cmd.Env = append(os.Environ(), entrypointoptions.OptionsEnv+"="+string(raw))
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(readFile(o.ProcessLog), "ready") {
		if time.Now().After(deadline) {
			t.Fatal("the command never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if cmd.ProcessState.ExitCode() != wrapper.AbortedErrorCode {
		t.Errorf("exit %v, want %d", err, wrapper.AbortedErrorCode)
	}
	if !strings.Contains(out.String(), "got INT") {
		t.Errorf("the command did not get SIGINT:\n%s", out.String())
	}
	if marker(t, o) != wrapper.AbortedErrorCode {
		t.Error("marker is not 130")
	}

	missing := exec.Command(dest)
	missing.Env = []string{}
	if b, _ := missing.CombinedOutput(); missing.ProcessState.ExitCode() != wrapper.InternalErrorCode || !strings.Contains(string(b), entrypointoptions.OptionsEnv) {
		t.Errorf("without options: exit %d %s", missing.ProcessState.ExitCode(), b)
	}
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

// TestCommandDiesWithEntrypoint: an entrypoint SIGKILLed (or whose node is killed) takes its
// command with it, rather than leave it running outside the run.
func TestCommandDiesWithEntrypoint(t *testing.T) {
	t.Parallel()
	bin := testutil.BuildBinary(t, "./cmd/entrypoint")
	pidFile := filepath.Join(t.TempDir(), "pid")
	raw, err := json.Marshal(options(t, "sh", "-c", `echo $$ > `+pidFile+`; while :; do sleep 0.05; done`))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), entrypointoptions.OptionsEnv+"="+string(raw))
	testutil.KillLeavesNothing(t, cmd, pidFile)
}
