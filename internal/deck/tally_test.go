package deck

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// TestTalliesAgreeWithScan: the counts and success rates kept from events (through adds, state
// changes, moves in start time and removals, and a fill settled at once) equal those counted by
// scanning every row, for every filter the tallies answer, at several moments.
func TestTalliesAgreeWithScan(t *testing.T) {
	t.Parallel()
	rnd := rand.New(rand.NewPCG(1, 2))
	types := []prowv1.ProwJobType{prowv1.PresubmitJob, prowv1.PostsubmitJob, prowv1.PeriodicJob}
	states := []prowv1.ProwJobState{"", "triggered", "pending", "success", "failure", "error", "aborted"}
	repos := []string{"a/x", "a/y", "b/z"}
	base := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	random := func(i int) *prowv1.ProwJob {
		pj := &prowv1.ProwJob{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pj-%d", i)},
			Spec: prowv1.ProwJobSpec{Type: types[rnd.IntN(len(types))], Cluster: []string{"", "default", "gpu"}[rnd.IntN(3)]},
			Status: prowv1.ProwJobStatus{State: states[rnd.IntN(len(states))],
				StartTime: metav1.NewTime(base.Add(-time.Duration(rnd.IntN(60*72)) * time.Minute))}}
		if rnd.IntN(4) > 0 {
			org, repo := repos[rnd.IntN(len(repos))][:1], repos[rnd.IntN(len(repos))][2:]
			pj.Spec.Refs = &prowv1.Refs{Org: org, Repo: repo}
		}
		for range rnd.IntN(3) {
			r := repos[rnd.IntN(len(repos))]
			pj.Spec.ExtraRefs = append(pj.Spec.ExtraRefs, prowv1.Refs{Org: r[:1], Repo: r[2:]})
		}
		if rnd.IntN(5) > 0 {
			end := metav1.NewTime(pj.Status.StartTime.Add(time.Duration(rnd.IntN(120)) * time.Minute))
			pj.Status.CompletionTime = &end
		}
		return pj
	}
	ix := newIndex()
	ix.beginFill()
	for i := range 300 {
		ix.upsert(random(i))
	}
	ix.remove("pj-7")
	ix.settle()
	check := func(when string) {
		t.Helper()
		for _, now := range []time.Time{base, base.Add(5 * time.Hour), base.Add(-30 * time.Hour)} {
			for _, f := range filtersOf(repos) {
				got := ix.summary(f, now)
				want := counts{states: map[prowv1.ProwJobState]int{}, windowsAt: now}
				ix.each(nil, func(r *row) bool {
					if f.matches(r) {
						want.count(r)
					}
					return true
				})
				for st, n := range want.states {
					if n == 0 {
						delete(want.states, st)
					}
				}
				for st, n := range got.states {
					if n == 0 {
						delete(got.states, st)
					}
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s, filter %+v at %v: tallies %+v, scan %+v", when, f, now, got, want)
				}
			}
		}
	}
	check("after the fill")
	for i := range 600 {
		n := rnd.IntN(300)
		if i%5 == 0 {
			ix.remove(fmt.Sprintf("pj-%d", n))
			continue
		}
		ix.upsert(random(n)) // a new job, or an existing one changed in state, refs, times
	}
	check("after changes")
	if got := ix.summary(filter{}, base).total; got != ix.len() {
		t.Errorf("total %d, index holds %d", got, ix.len())
	}
}

// filtersOf is every filter the tallies answer, over these repos.
func filtersOf(repos []string) []filter {
	var out []filter
	for _, typ := range append([]string{""}, jobTypes...) {
		for _, st := range append([]string{""}, jobStates...) {
			for _, repo := range append([]string{""}, repos...) {
				for _, cl := range []string{"", "default", "gpu"} {
					out = append(out, filter{Type: typ, State: st, Repo: repo, Cluster: cl})
				}
			}
		}
	}
	return out
}
