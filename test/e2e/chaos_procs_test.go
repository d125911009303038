package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// component is one prowl command run as its own process, as an operator runs the parts of Prowl:
// the test kills it and starts it again; when it exits on its own it is started again at once, as
// Kubernetes restarts a container, and the exit is counted and shown.
type component struct {
	name, bin string
	args      []string
	logPath   string // the output of every run, appended

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	started  time.Time
	runs     int  // runs started: a restart after a crash is for the run that crashed only
	killing  bool // the test is ending this run: its exit is expected
	stopped  bool // the test is over: do not restart
	crashes  []string
	backoff  time.Duration
	restarts int
}

// Crash-loop back-off, as the kubelet's (10 s doubling to 5 minutes there; shorter here, where a
// crash is an API server away for seconds).
const (
	crashBackoff    = 500 * time.Millisecond
	crashBackoffMax = 8 * time.Second
)

// start runs the command once more, its output appended to logPath.
func (c *component) start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.startLocked()
}

func (c *component) startLocked() error {
	out, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "=== chaos: starting %s %s\n", c.name, strings.Join(c.args, " "))
	cmd := exec.Command(c.bin, c.args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("start %s: %w", c.name, err)
	}
	exited := make(chan struct{})
	c.cmd, c.exited, c.killing, c.started = cmd, exited, false, time.Now()
	c.runs++
	go c.wait(cmd, out, exited)
	return nil
}

// wait reaps one run. An exit the test did not cause is a crash: the component starts again after
// a back-off that doubles while it keeps crashing, as Kubernetes restarts a container.
func (c *component) wait(cmd *exec.Cmd, out *os.File, exited chan struct{}) {
	err := cmd.Wait()
	fmt.Fprintf(out, "=== chaos: %s exited: %v (user %v, sys %v)\n", c.name, err, cmd.ProcessState.UserTime(), cmd.ProcessState.SystemTime())
	out.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	close(exited)
	if c.killing || c.stopped {
		return
	}
	c.crashes = append(c.crashes, fmt.Sprintf("%s exited on its own after %s (%v); its log: %s", c.name, time.Since(c.started).Round(time.Millisecond), err, c.logPath))
	if time.Since(c.started) > 2*crashBackoffMax {
		c.backoff = 0 // it ran long enough: a new crash loop starts over
	}
	c.backoff = min(max(2*c.backoff, crashBackoff), crashBackoffMax)
	run := c.runs
	time.AfterFunc(c.backoff, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.stopped || c.runs != run {
			return // stopped, or the test started it meanwhile
		}
		if err := c.startLocked(); err != nil {
			c.crashes = append(c.crashes, err.Error())
		}
	})
}

// kill sends sig and waits for the process to exit.
func (c *component) kill(sig syscall.Signal) {
	c.mu.Lock()
	c.killing = true
	cmd, exited := c.cmd, c.exited
	c.mu.Unlock()
	_ = cmd.Process.Signal(sig)
	<-exited
}

// restart kills the process with sig and starts it again.
func (c *component) restart(sig syscall.Signal) error {
	c.kill(sig)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.restarts++
	return c.startLocked()
}

// stop ends the component for good: SIGTERM, as Kubernetes stops a Pod.
func (c *component) stop() {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	c.kill(syscall.SIGTERM)
}

// crashed lists the exits the test did not cause.
func (c *component) crashed() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.crashes...)
}

// components are Prowl's parts, each its own process.
type components map[string]*component

// startAll starts every component, stopping them all when the test ends.
func (cs components) startAll(t *testing.T) {
	t.Helper()
	for _, c := range cs {
		if err := c.start(); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, c := range cs {
			c.stop()
		}
	})
}

// crashes are every component's unexpected exits.
func (cs components) crashes() []string {
	var all []string
	for _, c := range cs {
		all = append(all, c.crashed()...)
	}
	return all
}

// tails are the last lines of every component's log, for a failure's message.
func (cs components) tails(lines int) string {
	var b strings.Builder
	for _, c := range cs {
		raw, _ := os.ReadFile(c.logPath)
		fmt.Fprintf(&b, "--- %s (%s):\n%s\n", c.name, c.logPath, tail(string(raw), lines))
	}
	return b.String()
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
