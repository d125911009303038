package config

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
)

// yamlBomb is a job file whose anchors would expand to 9^9 strings were aliases expanded blindly.
const yamlBomb = `a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
periodics: [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`

// Each bad change to the job config fails its reload with a reason that names the file, the
// config in force stays, and the failure is counted.
func TestReloadKeepsLastGoodConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		break_ func(t *testing.T, jobs string)
		want   string // in the reason
	}{
		{"a truncated file", func(t *testing.T, jobs string) {
			write(t, filepath.Join(jobs, "echo.yaml"), echoJob[:len(echoJob)/2])
		}, "echo.yaml"},
		{"a YAML bomb", func(t *testing.T, jobs string) {
			write(t, filepath.Join(jobs, "bomb.yaml"), yamlBomb)
		}, "bomb.yaml"},
		{"a file that is a FIFO nobody writes", func(t *testing.T, jobs string) {
			if err := syscall.Mkfifo(filepath.Join(jobs, "fifo.yaml"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "fifo.yaml"},
		{"a file that cannot be read (a socket: root reads any mode)", func(t *testing.T, jobs string) {
			ln, err := net.Listen("unix", filepath.Join(jobs, "sock.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = ln.Close() })
		}, "sock.yaml"},
		{"the job directory replaced by a file", func(t *testing.T, jobs string) {
			if err := os.RemoveAll(jobs); err != nil {
				t.Fatal(err)
			}
			write(t, jobs, "periodics: [")
		}, "jobs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeTree(t, map[string]string{"jobs/echo.yaml": echoJob})
			jobs := filepath.Join(dir, "jobs")
			a, _, err := NewAgent(Options{JobConfigPath: jobs})
			if err != nil {
				t.Fatal(err)
			}
			before := a.Config()
			tc.break_(t, jobs)
			err = a.Reload()
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "keeping the one in force") {
				t.Fatalf("reload: %v; want a reason naming %s", err, tc.want)
			}
			t.Logf("reason: %v", err)
			if n := promtestutil.ToFloat64(a.reloads.WithLabelValues("error")); n != 1 {
				t.Errorf("prowl_config_reloads_total{outcome=error} is %v, want 1", n)
			}
			if a.Config() != before || a.Config().Summary() != "1 periodics, 0 presubmits, 0 postsubmits" {
				t.Errorf("config in force: %s", a.Config().Summary())
			}
		})
	}
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
