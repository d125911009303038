package config

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/utils/clock"
)

// Delta says which jobs a reload added, removed or changed, each as "kind org/repo name" (periodics
// have no repo).
type Delta struct {
	Added, Removed, Changed []string
}

// Empty reports whether the reload changed no job.
func (d Delta) Empty() bool { return len(d.Added)+len(d.Removed)+len(d.Changed) == 0 }

// Agent holds the config in force. Config always returns a complete, valid config; a reload swaps
// in a new one atomically, and an invalid new config is reported and leaves the old one in force.
type Agent struct {
	opts    Options
	current atomic.Pointer[Config]
	// OnError learns of reloads that failed; the config in force stays.
	OnError func(error)
	// OnWarning learns of warnings from a reload.
	OnWarning func(*Problem)
	// Clock times Watch's debounce; the real clock when nil.
	Clock clock.Clock
	// watchStarted, when set, learns that Watch has set its watches and made its first reload.
	watchStarted func()

	mu   sync.Mutex
	subs []chan<- Delta
	// reloads counts reloads by outcome (ok, error); Register serves it.
	reloads *prometheus.CounterVec
}

// Register adds the agent's metric to r: prowl_config_reloads_total{outcome="ok"|"error"}. A
// failed reload keeps the config in force, so this count (and the log) is how an operator learns
// that a change was refused.
func (a *Agent) Register(r prometheus.Registerer) error {
	if err := r.Register(a.reloads); err != nil {
		return fmt.Errorf("register config metrics: %w", err)
	}
	return nil
}

// NewAgent loads the config once; it fails when that first config is invalid.
func NewAgent(o Options) (*Agent, []*Problem, error) {
	c, warnings, err := Load(o)
	if err != nil {
		return nil, warnings, err
	}
	a := &Agent{opts: o, OnError: func(error) {}, OnWarning: func(*Problem) {},
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "prowl_config_reloads_total",
			Help: "Config reloads by outcome (ok; error: the config in force stays)."}, []string{"outcome"})}
	a.current.Store(c)
	return a, warnings, nil
}

// Config returns the config in force.
func (a *Agent) Config() *Config { return a.current.Load() }

// Subscribe sends ch the Delta of every reload that changed jobs. Sends do not block: give ch a
// buffer and read it promptly, or miss deltas.
func (a *Agent) Subscribe(ch chan<- Delta) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.subs = append(a.subs, ch)
}

// Reload loads the config again. On success it swaps it in and tells subscribers what changed; on
// failure the config in force stays and the error is returned.
func (a *Agent) Reload() error {
	c, warnings, err := Load(a.opts)
	for _, w := range warnings {
		a.OnWarning(w)
	}
	if err != nil {
		a.reloads.WithLabelValues("error").Inc()
		return fmt.Errorf("reload config, keeping the one in force: %w", err)
	}
	a.reloads.WithLabelValues("ok").Inc()
	old := a.current.Swap(c)
	d := diffJobs(old, c)
	a.mu.Lock()
	subs := append([]chan<- Delta(nil), a.subs...)
	a.mu.Unlock()
	if !d.Empty() {
		for _, ch := range subs {
			// A subscriber that is not reading misses this delta rather than stalling reloads;
			// Config always returns the config in force.
			select {
			case ch <- d:
			default:
			}
		}
	}
	return nil
}

// Watch reloads on every change to the config files until ctx ends. Bursts of events (an editor's
// write and rename, a git checkout, a ConfigMap update) are coalesced over debounce. It watches
// directories, not files, and follows symlinks: Kubernetes updates a mounted ConfigMap by
// swapping its ..data symlink to a new timestamped directory, which leaves every file's own mtime
// unchanged, so only the swap's event in the mount's directory tells of the change. Once the
// watches are set it reloads once, so that a change made since the config was loaded is not
// missed.
func (a *Agent) Watch(ctx context.Context, debounce time.Duration) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch config: %w", err)
	}
	defer w.Close()
	if err := a.addWatches(w); err != nil {
		return err
	}
	a.reload(ctx)
	if a.watchStarted != nil {
		a.watchStarted()
	}
	clk := a.clock()
	var timer clock.Timer
	var fire <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-w.Events:
			if !ok {
				return nil
			}
			if timer == nil {
				timer = clk.NewTimer(debounce)
			} else {
				timer.Reset(debounce)
			}
			fire = timer.C()
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			a.OnError(fmt.Errorf("watch config: %w", err))
		case <-fire:
			fire = nil
			// New directories (and a swapped symlink's new target) are watched from now on.
			if err := a.addWatches(w); err != nil {
				a.OnError(err)
			}
			a.reload(ctx)
		}
	}
}

// reload reloads, logging a failure through ctx's logger and reporting it to OnError.
func (a *Agent) reload(ctx context.Context) {
	if err := a.Reload(); err != nil {
		logr.FromContextOrDiscard(ctx).Error(err, "config reload failed")
		a.OnError(err)
	}
}

func (a *Agent) clock() clock.Clock {
	if a.Clock == nil {
		return clock.RealClock{}
	}
	return a.Clock
}

// addWatches watches every directory whose change can change the config: the directory holding
// each config path (and each directory a symlink on the way to it lives in), and every directory
// the job config loader walks. Adding a directory already watched is harmless.
func (a *Agent) addWatches(w *fsnotify.Watcher) error {
	var dirs []string
	for _, p := range []string{a.opts.ConfigPath, a.opts.JobConfigPath} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("watch config: %w", err)
		}
		dirs = append(dirs, linkDirs(p)...)
	}
	if a.opts.JobConfigPath != "" {
		files, walked, err := jobFiles(a.opts.JobConfigPath)
		if err != nil {
			return fmt.Errorf("watch config: %w", err)
		}
		dirs = append(dirs, walked...)
		for _, f := range files {
			dirs = append(dirs, linkDirs(f)...)
		}
	}
	seen := map[string]bool{}
	for _, d := range dirs {
		if seen[d] {
			continue
		}
		seen[d] = true
		if err := w.Add(d); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("watch config directory %s: %w", d, err)
		}
	}
	return nil
}

// linkDirs lists the directory of p and of every symlink p leads through, except Kubernetes' own
// hidden ones (..data), whose targets change with every update and whose parent is watched
// already.
func linkDirs(p string) []string {
	var dirs []string
	for range 16 { // at most 16 hops: a loop ends here
		if d := filepath.Dir(p); !strings.HasPrefix(filepath.Base(d), "..") {
			dirs = append(dirs, d)
		}
		target, err := os.Readlink(p)
		if err != nil {
			return dirs
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(p), target)
		}
		p = target
	}
	return dirs
}

// jobIndex maps each job of c to its identity and its encoded form.
func jobIndex(c *Config) map[string]string {
	idx := map[string]string{}
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	}
	for i := range c.Periodics {
		idx["periodic "+c.Periodics[i].Name] = enc(&c.Periodics[i])
	}
	for repo, jobs := range c.PresubmitsStatic {
		for i := range jobs {
			idx[fmt.Sprintf("presubmit %s %s%s", repo, jobs[i].Name, branchesKey(&jobs[i].Brancher))] = enc(&jobs[i])
		}
	}
	for repo, jobs := range c.PostsubmitsStatic {
		for i := range jobs {
			idx[fmt.Sprintf("postsubmit %s %s%s", repo, jobs[i].Name, branchesKey(&jobs[i].Brancher))] = enc(&jobs[i])
		}
	}
	return idx
}

// branchesKey tells apart jobs of one name on disjoint branches.
func branchesKey(b *Brancher) string {
	if len(b.Branches) == 0 && len(b.SkipBranches) == 0 {
		return ""
	}
	return " [" + strings.Join(b.Branches, ",") + "|" + strings.Join(b.SkipBranches, ",") + "]"
}

func diffJobs(old, cur *Config) Delta {
	before, after := jobIndex(old), jobIndex(cur)
	var d Delta
	for k, v := range after {
		prev, ok := before[k]
		switch {
		case !ok:
			d.Added = append(d.Added, k)
		case prev != v:
			d.Changed = append(d.Changed, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			d.Removed = append(d.Removed, k)
		}
	}
	sort.Strings(d.Added)
	sort.Strings(d.Removed)
	sort.Strings(d.Changed)
	return d
}
