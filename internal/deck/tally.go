package deck

import (
	"slices"
	"sort"
	"time"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// rateWindows are the windows of the success rate above the job list.
var rateWindows = []time.Duration{3 * time.Hour, 12 * time.Hour, 48 * time.Hour}

// outcomes are the finished states the success rate counts: success out of all three.
var outcomes = []prowv1.ProwJobState{prowv1.SuccessState, prowv1.FailureState, prowv1.ErrorState}

// outcome is the index of st in outcomes, or -1.
func outcome(st prowv1.ProwJobState) int { return slices.Index(outcomes, st) }

// groupKey names a tally: the rows of one job type on one cluster (and, in the per-repo tallies,
// of one repo).
type groupKey struct {
	typ     prowv1.ProwJobType
	cluster string
}

// tally is the counts by state and the finish times by outcome of one group of rows, kept current
// from informer events, so that the counts and success rates above the list cost a few groups,
// not a scan of every row.
type tally struct {
	states map[prowv1.ProwJobState]int
	total  int
	ends   [3]endTimes // by outcome
}

// add counts r into t (sign 1) or out of it (sign -1).
func (t *tally) add(r *row, sign int) {
	if t.states == nil {
		t.states = map[prowv1.ProwJobState]int{}
	}
	t.states[r.state] += sign
	t.total += sign
	if o := outcome(r.state); o >= 0 && !r.end.IsZero() {
		if sign > 0 {
			t.ends[o].add(r.end.UnixNano())
		} else {
			t.ends[o].remove(r.end.UnixNano())
		}
	}
}

// endTimes is a sorted multiset of finish times in Unix nanoseconds. New finishes are the newest,
// so an insert is nearly always an append.
type endTimes []int64

func (e *endTimes) add(t int64) {
	i := sort.Search(len(*e), func(i int) bool { return (*e)[i] > t })
	*e = slices.Insert(*e, i, t)
}

func (e *endTimes) remove(t int64) {
	if i, ok := slices.BinarySearch(*e, t); ok {
		*e = slices.Delete(*e, i, i+1)
	}
}

// since counts the times at or after from.
func (e endTimes) since(from int64) int {
	i, _ := slices.BinarySearch(e, from)
	return len(e) - i
}

// tallies are the tallies of every group, for the whole list and per repo (a row counts once in
// each repo it names: refs, then extra_refs).
type tallies struct {
	all    map[groupKey]*tally
	byRepo map[string]map[groupKey]*tally
}

func newTallies() tallies {
	return tallies{all: map[groupKey]*tally{}, byRepo: map[string]map[groupKey]*tally{}}
}

// add counts r in (sign 1) or out (sign -1) of its groups, dropping groups left empty.
func (ts tallies) add(r *row, sign int) {
	k := groupKey{typ: r.typ, cluster: r.cluster}
	addTo(ts.all, k, r, sign)
	for i, repo := range r.repos {
		if slices.Contains(r.repos[:i], repo) {
			continue
		}
		m := ts.byRepo[repo]
		if m == nil {
			m = map[groupKey]*tally{}
			ts.byRepo[repo] = m
		}
		addTo(m, k, r, sign)
		if len(m) == 0 {
			delete(ts.byRepo, repo)
		}
	}
}

func addTo(m map[groupKey]*tally, k groupKey, r *row, sign int) {
	t := m[k]
	if t == nil {
		t = &tally{}
		m[k] = t
	}
	t.add(r, sign)
	if t.total == 0 {
		delete(m, k)
	}
}

// tallied says whether the tallies can answer f's summary: filters on type, repo, state and
// cluster can; pull, author and job need the rows.
func tallied(f filter) bool { return f.Pull == 0 && f.Author == "" && f.Job == "" }

// counts is the summary of a filter: counts by state, the total, and per rate window how many
// finished and how many of those succeeded.
type counts struct {
	states    map[prowv1.ProwJobState]int
	total     int
	done, ok  [3]int
	windowsAt time.Time
}

// summarize adds up the tallies that f selects (tallied(f) must hold).
func (ts tallies) summarize(f filter, now time.Time) counts {
	c := counts{states: map[prowv1.ProwJobState]int{}, windowsAt: now}
	groups := ts.all
	if f.Repo != "" {
		groups = ts.byRepo[f.Repo]
	}
	for k, t := range groups {
		if (f.Type != "" && string(k.typ) != f.Type) || (f.Cluster != "" && k.cluster != f.Cluster) {
			continue
		}
		if f.State != "" {
			n := t.states[prowv1.ProwJobState(f.State)]
			c.states[prowv1.ProwJobState(f.State)] += n
			c.total += n
		} else {
			for st, n := range t.states {
				c.states[st] += n
			}
			c.total += t.total
		}
		for o, st := range outcomes {
			if f.State != "" && string(st) != f.State {
				continue
			}
			for w, win := range rateWindows {
				n := t.ends[o].since(now.Add(-win).UnixNano())
				c.done[w] += n
				if st == prowv1.SuccessState {
					c.ok[w] += n
				}
			}
		}
	}
	return c
}

// count adds one row that matches the filter to a summary made by scanning rows.
func (c *counts) count(r *row) {
	c.total++
	c.states[r.state]++
	if outcome(r.state) < 0 || r.end.IsZero() {
		return
	}
	age := c.windowsAt.Sub(r.end)
	for w, win := range rateWindows {
		if age <= win {
			c.done[w]++
			if r.state == prowv1.SuccessState {
				c.ok[w]++
			}
		}
	}
}
