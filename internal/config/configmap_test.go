package config

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"
)

// configMapMount lays out files exactly as the kubelet mounts a ConfigMap (its AtomicWriter): the
// real files in a hidden timestamped directory, ..data a symlink to that directory, and each key a
// symlink through ..data. update swaps in a new version the way the kubelet does: a new
// timestamped directory, a ..data_tmp symlink to it renamed over ..data in one step, then the old
// directory removed and the key links added or removed.
type configMapMount struct {
	t       *testing.T
	dir     string
	version int
	current string
}

func newConfigMapMount(t *testing.T, dir string, files map[string]string) *configMapMount {
	t.Helper()
	m := &configMapMount{t: t, dir: dir}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m.update(files)
	return m
}

func (m *configMapMount) update(files map[string]string) {
	t := m.t
	t.Helper()
	ts := filepath.Join(m.dir, "..2026_12_01_22_00_0"+string(rune('0'+m.version))+".123456789")
	m.version++
	if err := os.Mkdir(ts, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(ts, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tmp := filepath.Join(m.dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(m.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if m.current != "" {
		if err := os.RemoveAll(m.current); err != nil {
			t.Fatal(err)
		}
	}
	m.current = ts
	entries, err := os.ReadDir(m.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, keep := files[e.Name()]; !keep && !strings.HasPrefix(e.Name(), "..") {
			if err := os.Remove(filepath.Join(m.dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name := range files {
		link := filepath.Join(m.dir, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
			t.Fatal(err)
		}
	}
}

func periodicYAML(name, interval string) string {
	return "periodics:\n- name: " + name + "\n  interval: " + interval + "\n  spec: {containers: [{image: alpine, command: [date]}]}\n"
}

// TestLoadConfigMapMount: a job config and a prow config mounted from ConfigMaps load each job
// once (the hidden directory is skipped, the symlinked files followed), and so do paths that are
// themselves symlinks to the mount (a directory, or a file).
func TestLoadConfigMapMount(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	newConfigMapMount(t, filepath.Join(root, "job-config"), map[string]string{"periodic.yaml": periodicYAML("echo-test", "1h"), "more.yml": periodicYAML("other", "2h"), "README.md": "not a job"})
	newConfigMapMount(t, filepath.Join(root, "config"), map[string]string{"config.yaml": "pod_namespace: test-pods\n" + periodicYAML("in-config", "3h")})
	if err := os.Symlink(filepath.Join(root, "job-config"), filepath.Join(root, "jobs-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "config", "config.yaml"), filepath.Join(root, "config-link.yaml")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, config, jobs string }{
		{"mounts", filepath.Join(root, "config", "config.yaml"), filepath.Join(root, "job-config")},
		{"symlinked paths", filepath.Join(root, "config-link.yaml"), filepath.Join(root, "jobs-link")},
		{"job config path a symlinked file", filepath.Join(root, "config", "config.yaml"), filepath.Join(root, "job-config", "periodic.yaml")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, warnings, err := Load(Options{ConfigPath: tc.config, JobConfigPath: tc.jobs, Strict: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) > 0 {
				t.Errorf("warnings: %v", warnings)
			}
			var names []string
			for _, p := range c.Periodics {
				names = append(names, p.Name)
			}
			want := []string{"in-config", "other", "echo-test"}
			if strings.HasSuffix(tc.jobs, ".yaml") {
				want = []string{"in-config", "echo-test"}
			}
			if diff := cmp.Diff(want, names); diff != "" {
				t.Errorf("periodics (-want +got):\n%s", diff)
			}
			if c.PodNamespace != "test-pods" {
				t.Errorf("pod_namespace %q", c.PodNamespace)
			}
		})
	}
}

// TestLoadNoJobFiles: a job config path with no job file at all loads, with a warning naming it.
func TestLoadNoJobFiles(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"README.md": "docs", ".hidden/a.yaml": periodicYAML("a", "1h")})
	_, warnings, err := Load(Options{JobConfigPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || warnings[0].File != dir || !strings.Contains(warnings[0].Error(), "holds no .yaml or .yml job config file") {
		t.Errorf("warnings %v", warnings)
	}
}

// TestWatchConfigMapSwap: the agent reloads when the kubelet swaps ..data, for the job config and
// for the prow config, though no file's mtime changes. The debounce runs on a fake clock, which
// the poll steps; the delta is the reload's signal.
func TestWatchConfigMapSwap(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	jobs := newConfigMapMount(t, filepath.Join(root, "job-config"), map[string]string{"periodic.yaml": periodicYAML("echo-test", "1h")})
	cfg := newConfigMapMount(t, filepath.Join(root, "config"), map[string]string{"config.yaml": periodicYAML("in-config", "3h")})
	if err := os.Symlink(filepath.Join(root, "job-config"), filepath.Join(root, "jobs-link")); err != nil {
		t.Fatal(err)
	}
	a, _, err := NewAgent(Options{ConfigPath: filepath.Join(root, "config", "config.yaml"), JobConfigPath: filepath.Join(root, "jobs-link")})
	if err != nil {
		t.Fatal(err)
	}
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	a.Clock = clk
	a.OnError = func(err error) { t.Logf("reload (retried on the next event): %v", err) }
	deltaCh := make(chan Delta, 100)
	a.Subscribe(deltaCh)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	a.watchStarted = func() { close(started) }
	watching := make(chan error, 1)
	go func() { watching <- a.Watch(ctx, time.Second) }()
	select {
	case <-started:
	case err := <-watching:
		t.Fatalf("Watch: %v", err)
	}

	// await steps the debounce until a reload has changed jobs and the config in force holds the
	// periodics want (name → interval). A reload may fire while the kubelet is halfway through
	// an update (between the swap and the new key's link), so it checks the state reached, not
	// one delta.
	await := func(want map[string]time.Duration) {
		t.Helper()
		got := map[string]time.Duration{}
		deltas := 0
		err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
			clk.Step(time.Second)
			for drained := false; !drained; {
				select {
				case <-deltaCh:
					deltas++
				default:
					drained = true
				}
			}
			got = map[string]time.Duration{}
			for _, p := range a.Config().Periodics {
				got[p.Name] = p.GetInterval()
			}
			return deltas > 0 && cmp.Equal(want, got), nil
		})
		if err != nil {
			t.Fatalf("no reload to %v; config in force %v after %d deltas", want, got, deltas)
		}
	}
	before, err := os.Lstat(filepath.Join(root, "job-config", "periodic.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	jobs.update(map[string]string{"periodic.yaml": periodicYAML("echo-test", "2h"), "added.yaml": periodicYAML("added", "1h")})
	after, err := os.Lstat(filepath.Join(root, "job-config", "periodic.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !after.ModTime().Equal(before.ModTime()) {
		t.Fatal("the swap changed the key link's mtime; the layout is not the kubelet's")
	}
	await(map[string]time.Duration{"in-config": 3 * time.Hour, "echo-test": 2 * time.Hour, "added": time.Hour})

	cfg.update(map[string]string{"config.yaml": periodicYAML("in-config", "4h")})
	await(map[string]time.Duration{"in-config": 4 * time.Hour, "echo-test": 2 * time.Hour, "added": time.Hour})

	jobs.update(map[string]string{"added.yaml": periodicYAML("added", "1h")})
	await(map[string]time.Duration{"in-config": 4 * time.Hour, "added": time.Hour})
	cancel()
	if err := <-watching; err != nil {
		t.Errorf("Watch: %v", err)
	}
}
