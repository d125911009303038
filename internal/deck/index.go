package deck

import (
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/jobs"
)

// row is one ProwJob as the job list needs it: the fields filters match on, computed once per
// informer event, and the cached object itself (shared with the cache: never modified).
type row struct {
	pj      *prowv1.ProwJob
	name    string
	job     string
	typ     prowv1.ProwJobType
	state   prowv1.ProwJobState
	cluster string
	repos   []string // org/repo of refs, then of each extra_refs
	pulls   []int
	authors []string
	start   time.Time
	end     time.Time // zero until complete
	// cells is the row's job-only cells as HTML, rendered when first shown.
	cells atomic.Pointer[renderedCells]
}

func newRow(pj *prowv1.ProwJob) *row {
	r := &row{pj: pj, name: pj.Name, job: pj.Spec.Job, typ: pj.Spec.Type, state: pj.Status.State,
		cluster: pj.Spec.Cluster, start: jobs.Started(pj)}
	if pj.Status.CompletionTime != nil {
		r.end = pj.Status.CompletionTime.Time
	}
	if refs := pj.Spec.Refs; refs != nil {
		r.repos = append(r.repos, refs.Org+"/"+refs.Repo)
		for _, p := range refs.Pulls {
			r.pulls = append(r.pulls, p.Number)
			r.authors = append(r.authors, p.Author)
		}
	}
	for _, e := range pj.Spec.ExtraRefs {
		r.repos = append(r.repos, e.Org+"/"+e.Repo)
	}
	return r
}

// before is the list's order: newest start first, then by name, so that the order is total and
// a cursor names a place in it.
func before(aStart time.Time, aName string, bStart time.Time, bName string) bool {
	if !aStart.Equal(bStart) {
		return aStart.After(bStart)
	}
	return aName < bName
}

// change is one row added, changed or removed, for the live subscribers.
type change struct {
	row     *row
	old     *row // the row before, if there was one
	removed bool
}

// index holds every cached ProwJob in list order, kept current from informer events, so a page
// costs the rows it shows (and a cheap scan of compact rows for filters and counts), never a list
// and sort of the whole cache.
type index struct {
	mu      sync.RWMutex
	byName  map[string]*row
	sorted  []*row
	tallies tallies
	// filling is set while the informer delivers its initial list: rows are only collected, and
	// settle sorts them and counts them once, instead of one sorted insert per row.
	filling bool

	subMu sync.Mutex
	subs  map[*subscriber]struct{}
}

func newIndex() *index {
	return &index{byName: map[string]*row{}, tallies: newTallies(), subs: map[*subscriber]struct{}{}}
}

// beginFill makes the index collect rows without ordering or counting them, until settle.
func (ix *index) beginFill() {
	ix.mu.Lock()
	ix.filling = true
	ix.mu.Unlock()
}

// settle orders and counts the rows collected since beginFill; from then on every event keeps
// the order and the tallies current.
func (ix *index) settle() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if !ix.filling {
		return
	}
	ix.filling = false
	ix.sorted = make([]*row, 0, len(ix.byName))
	ix.tallies = newTallies()
	for _, r := range ix.byName {
		ix.sorted = append(ix.sorted, r)
		ix.tallies.add(r, 1)
	}
	sort.Slice(ix.sorted, func(i, j int) bool {
		a, b := ix.sorted[i], ix.sorted[j]
		return before(a.start, a.name, b.start, b.name)
	})
}

// position is where a row with this key is, or would go.
func (ix *index) position(start time.Time, name string) int {
	return sort.Search(len(ix.sorted), func(i int) bool {
		r := ix.sorted[i]
		return !before(r.start, r.name, start, name)
	})
}

func (ix *index) upsert(pj *prowv1.ProwJob) {
	r := newRow(pj)
	ix.mu.Lock()
	prev := ix.byName[r.name]
	if ix.filling {
		ix.byName[r.name] = r
		ix.mu.Unlock()
		return
	}
	ix.tallies.add(r, 1)
	if old := prev; old != nil {
		i := ix.position(old.start, old.name)
		if old.start.Equal(r.start) && i < len(ix.sorted) && ix.sorted[i] == old {
			ix.tallies.add(old, -1)
			ix.sorted[i] = r
			ix.byName[r.name] = r
			ix.mu.Unlock()
			ix.publish(change{row: r, old: old})
			return
		}
		ix.removeLocked(old)
	}
	i := ix.position(r.start, r.name)
	ix.sorted = append(ix.sorted, nil)
	copy(ix.sorted[i+1:], ix.sorted[i:])
	ix.sorted[i] = r
	ix.byName[r.name] = r
	ix.mu.Unlock()
	ix.publish(change{row: r, old: prev})
}

func (ix *index) removeLocked(old *row) {
	delete(ix.byName, old.name)
	if ix.filling {
		return
	}
	ix.tallies.add(old, -1)
	i := ix.position(old.start, old.name)
	if i < len(ix.sorted) && ix.sorted[i] == old {
		ix.sorted = append(ix.sorted[:i], ix.sorted[i+1:]...)
	}
}

func (ix *index) remove(name string) {
	ix.mu.Lock()
	old, ok := ix.byName[name]
	if ok {
		ix.removeLocked(old)
	}
	filling := ix.filling
	ix.mu.Unlock()
	if ok && !filling {
		ix.publish(change{row: old, old: old, removed: true})
	}
}

func (ix *index) get(name string) *row {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.byName[name]
}

func (ix *index) len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.sorted)
}

// each calls f on the rows in list order from the cursor's place on, until f returns false.
func (ix *index) each(after *cursor, f func(*row) bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	i := 0
	if after != nil {
		i = ix.position(after.start, after.name)
		if i < len(ix.sorted) && ix.sorted[i].name == after.name {
			i++
		}
	}
	for ; i < len(ix.sorted); i++ {
		if !f(ix.sorted[i]) {
			return
		}
	}
}

// summary counts the rows that f selects by state, and their success rates, at now: from the
// tallies where they can answer f, else by scanning the compact rows.
func (ix *index) summary(f filter, now time.Time) counts {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if tallied(f) {
		return ix.tallies.summarize(f, now)
	}
	c := counts{states: map[prowv1.ProwJobState]int{}, windowsAt: now}
	for _, r := range ix.sorted {
		if f.matches(r) {
			c.count(r)
		}
	}
	return c
}

// subscriber receives changes. One that falls more than its buffer behind misses changes and
// is marked overflowed, so that its page reloads instead of showing a stale list.
type subscriber struct {
	ch         chan change
	overflowed atomic.Bool
}

func (ix *index) subscribe() *subscriber {
	sub := &subscriber{ch: make(chan change, 512)}
	ix.subMu.Lock()
	ix.subs[sub] = struct{}{}
	ix.subMu.Unlock()
	return sub
}

func (ix *index) unsubscribe(sub *subscriber) {
	ix.subMu.Lock()
	delete(ix.subs, sub)
	ix.subMu.Unlock()
}

// publish sends c to every subscriber without blocking.
func (ix *index) publish(c change) {
	ix.subMu.Lock()
	defer ix.subMu.Unlock()
	for sub := range ix.subs {
		select {
		case sub.ch <- c:
		default:
			sub.overflowed.Store(true)
		}
	}
}

// cursor names a place in the list: the last row of the page before.
type cursor struct {
	start time.Time
	name  string
}

func (c cursor) String() string {
	return c.start.UTC().Format(time.RFC3339Nano) + "_" + c.name
}

func parseCursor(s string) (*cursor, bool) {
	ts, name, ok := strings.Cut(s, "_")
	if !ok || name == "" {
		return nil, false
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return nil, false
	}
	return &cursor{start: t, name: name}, true
}
