package config

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
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

	mu   sync.Mutex
	subs []chan<- Delta
}

// NewAgent loads the config once; it fails when that first config is invalid.
func NewAgent(o Options) (*Agent, []*Problem, error) {
	c, warnings, err := Load(o)
	if err != nil {
		return nil, warnings, err
	}
	a := &Agent{opts: o, OnError: func(error) {}, OnWarning: func(*Problem) {}}
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
		return fmt.Errorf("reload config, keeping the one in force: %w", err)
	}
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
// write and rename, a git checkout) are coalesced over debounce.
func (a *Agent) Watch(ctx context.Context, debounce time.Duration) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch config: %w", err)
	}
	defer w.Close()
	addTree := func(root string) error {
		return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return w.Add(p)
			}
			return nil
		})
	}
	for _, p := range []string{a.opts.ConfigPath, a.opts.JobConfigPath} {
		if p == "" {
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("watch config: %w", err)
		}
		if info.IsDir() {
			err = addTree(p)
		} else {
			// Watch the directory: editors and ConfigMap updates replace files by rename.
			err = w.Add(filepath.Dir(p))
		}
		if err != nil {
			return fmt.Errorf("watch config %s: %w", p, err)
		}
	}
	var timer *time.Timer
	var fire <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ev.Has(fsnotify.Create) {
				if info, err := os.Stat(ev.Name); err == nil && info.IsDir() {
					_ = addTree(ev.Name)
				}
			}
			if timer == nil {
				timer = time.NewTimer(debounce)
			} else {
				timer.Reset(debounce)
			}
			fire = timer.C
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			a.OnError(fmt.Errorf("watch config: %w", err))
		case <-fire:
			fire = nil
			if err := a.Reload(); err != nil {
				a.OnError(err)
			}
		}
	}
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
