// Package entrypoint is the code behind the entrypoint pod utility, which runs the test command,
// tees its output, enforces the timeout and records the exit code. It imports only the standard
// library, its options package and wrapper: the binary is copied into every job's Pod.
package entrypoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prowl-ci/prowl/internal/podutils/entrypointoptions"
	"github.com/prowl-ci/prowl/internal/podutils/flagjson"
	"github.com/prowl-ci/prowl/internal/podutils/wrapper"
)

// DefaultCopyDestination is where --copy-mode-only puts the binary when given no path.
const DefaultCopyDestination = "/tools/entrypoint"

// Run runs o's command and returns the code the entrypoint exits with. It writes that code to the
// marker file in every case. stdout receives the command's output as it also goes to the process
// log. The command stops at the timeout, or when ctx ends (the entrypoint's own SIGINT or SIGTERM):
// it gets SIGINT, then SIGKILL after the grace period.
func Run(ctx context.Context, o *entrypointoptions.Options, stdout io.Writer) int {
	code := run(ctx, o, stdout)
	if err := wrapper.WriteMarker(o.MarkerFile, code); err != nil {
		fmt.Fprintf(os.Stderr, "entrypoint: %v\n", err)
		if code == 0 {
			code = wrapper.InternalErrorCode
		}
	}
	if o.AlwaysZero {
		return 0
	}
	return code
}

func run(ctx context.Context, o *entrypointoptions.Options, stdout io.Writer) int {
	if o.PreviousMarker != "" {
		if code, err := waitForMarker(ctx, o.PreviousMarker); err != nil || code != 0 {
			fmt.Fprintf(stdout, "entrypoint: previous step did not pass (%v, code %d); not running\n", err, code)
			return wrapper.InternalErrorCode
		}
	}
	if o.ArtifactDir != "" {
		if err := os.MkdirAll(o.ArtifactDir, 0o755); err != nil {
			fmt.Fprintf(stdout, "entrypoint: create artifact dir: %v\n", err)
			return wrapper.InternalErrorCode
		}
	}
	if err := os.MkdirAll(filepath.Dir(o.ProcessLog), 0o755); err != nil {
		fmt.Fprintf(stdout, "entrypoint: create process log dir: %v\n", err)
		return wrapper.InternalErrorCode
	}
	log, err := os.Create(o.ProcessLog)
	if err != nil {
		fmt.Fprintf(stdout, "entrypoint: open process log: %v\n", err)
		return wrapper.InternalErrorCode
	}
	defer log.Close()
	out := io.MultiWriter(stdout, log)

	cmd := exec.Command(o.Args[0], o.Args[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	// The command leads its own process group, so that the signals reach what it started too, and
	// is killed should the entrypoint die first (SIGKILLed, or its node gone): a command left
	// running could write into the run's directory after the run was given up on.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(out, "entrypoint: could not start %q: %v\n", o.Args[0], err)
		return wrapper.InternalErrorCode
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var timeout <-chan time.Time
	if o.Timeout > 0 {
		t := time.NewTimer(o.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case err := <-done:
		return exitCode(err, out)
	case <-timeout:
		fmt.Fprintf(out, "entrypoint: process did not finish before its %v timeout\n", o.Timeout)
		_ = stop(o, cmd, done, out)
		return wrapper.InternalErrorCode
	case <-ctx.Done():
		fmt.Fprintln(out, "entrypoint: interrupted; stopping the process")
		_ = stop(o, cmd, done, out)
		return wrapper.AbortedErrorCode
	}
}

// stop sends the process group SIGINT and, if it has not exited after the grace period, SIGKILL.
// It returns the process's wait error, which an interrupted process's exit makes moot.
func stop(o *entrypointoptions.Options, cmd *exec.Cmd, done <-chan error, out io.Writer) error {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	grace := time.NewTimer(o.GracePeriod)
	defer grace.Stop()
	select {
	case err := <-done:
		return err
	case <-grace.C:
	}
	fmt.Fprintf(out, "entrypoint: process did not exit %v after SIGINT; killing it\n", o.GracePeriod)
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	return <-done
}

func exitCode(err error, out io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if status, ok := ee.Sys().(syscall.WaitStatus); ok && status.Signaled() {
			return 128 + int(status.Signal())
		}
		return ee.ExitCode()
	}
	fmt.Fprintf(out, "entrypoint: waiting for the process: %v\n", err)
	return wrapper.InternalErrorCode
}

func waitForMarker(ctx context.Context, path string) (int, error) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if code, err := wrapper.ReadMarker(path); err == nil {
			return code, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-t.C:
		}
	}
}

// CopySelf copies the running binary to dest, executable: place-entrypoint's whole job.
func CopySelf(dest string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	src, err := os.Open(self)
	if err != nil {
		return err
	}
	defer src.Close()
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	tmp := dest + ".tmp"
	dst, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dest)
}

// Main is the entrypoint binary: it reads ENTRYPOINT_OPTIONS (or, with --copy-mode-only [DEST],
// copies itself) and returns the exit code.
func Main(args []string) int {
	if len(args) > 0 && args[0] == "--copy-mode-only" {
		dest := DefaultCopyDestination
		if len(args) > 1 {
			dest = args[1]
		}
		if err := CopySelf(dest); err != nil {
			fmt.Fprintf(os.Stderr, "entrypoint: copy to %s: %v\n", dest, err)
			return 1
		}
		return 0
	}
	raw, source, err := flagjson.Resolve(args, entrypointoptions.OptionsEnv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "entrypoint: %v\n", err)
		return wrapper.InternalErrorCode
	}
	o, err := entrypointoptions.Decode(raw)
	if err != nil {
		fmt.Fprintf(os.Stderr, "entrypoint: %s: %v\n", source, err)
		if o != nil && o.Options != nil && o.MarkerFile != "" {
			_ = wrapper.WriteMarker(o.MarkerFile, wrapper.InternalErrorCode)
		}
		return wrapper.InternalErrorCode
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, o, os.Stdout)
}
