package e2e

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/crier"
	"github.com/prowl-ci/prowl/internal/downwardapi"
	"github.com/prowl-ci/prowl/internal/storage"
)

// quiesce stops Horologium (no new periodics) and waits for every ProwJob to complete and every
// Pod to end.
func (e *chaosEnv) quiesce(t *testing.T) {
	t.Helper()
	e.comps["horologium"].stop()
	var last string
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		var pjs prowv1.ProwJobList
		var pods corev1.PodList
		if e.c.List(ctx, &pjs, client.InNamespace("default")) != nil || e.c.List(ctx, &pods, client.InNamespace("test-pods")) != nil {
			return false, nil
		}
		var open []string
		for _, pj := range pjs.Items {
			if !pj.Complete() {
				open = append(open, fmt.Sprintf("%s %s (%s: %s)", pj.Spec.Job, pj.Name, pj.Status.State, pj.Status.Description))
			}
		}
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodPending || p.Status.Phase == corev1.PodRunning || p.DeletionTimestamp != nil {
				open = append(open, fmt.Sprintf("pod %s %s", p.Name, p.Status.Phase))
			}
		}
		last = strings.Join(open, "\n")
		return len(open) == 0, nil
	})
	if err != nil {
		t.Fatalf("the system did not settle: still open:\n%s\n%s", last, e.comps.tails(40))
	}
}

// eventually polls check until it reports no problem, for what lags the jobs' completion
// (Crier's statuses, the artifact completer's files); it fails the test with the problems left.
func eventually(t *testing.T, what string, check func() []string) int {
	t.Helper()
	var problems []string
	_ = wait.PollUntilContextTimeout(context.Background(), 500*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		problems = check()
		return len(problems) == 0, nil
	})
	for i, p := range problems {
		if i == 20 {
			t.Errorf("%s: ... and %d more", what, len(problems)-20)
			break
		}
		t.Errorf("%s: %s", what, p)
	}
	return len(problems)
}

// check asserts what the run promised, on the ProwJobs as the API server has them now.
func (e *chaosEnv) check(t *testing.T) {
	t.Helper()
	var list prowv1.ProwJobList
	if err := e.c.List(context.Background(), &list, client.InNamespace("default")); err != nil {
		t.Fatal(err)
	}
	pjs := list.Items
	e.checkTransitions(t, pjs)
	e.lost, e.duplicated = e.checkExactlyOnce(t, pjs)
	e.checkPeriodics(t, pjs)
	e.checkSuperseded(t, pjs)
	eventually(t, "statuses", func() []string { return e.statusProblems(pjs) })
	eventually(t, "summaries", func() []string { return e.summaryProblems(pjs) })
	eventually(t, "artifacts", func() []string { return e.artifactProblems(pjs) })
	if left := leftoverProcesses(pjs); len(left) > 0 {
		t.Errorf("processes of finished runs still running: %v", left)
	}
	for _, c := range e.comps.crashes() {
		t.Logf("chaos: %s", c)
	}
	e.jobs = map[prowv1.ProwJobType]int{}
	for _, pj := range pjs {
		e.jobs[pj.Spec.Type]++
		if pj.Status.PodRevivalCount > 0 {
			e.revived++
		}
	}
	if t.Failed() {
		t.Logf("chaos: logs of the run are in %s (set PROWL_CHAOS_LOGS to keep them)\n%s", e.dir, e.comps.tails(30))
	}
}

// checkTransitions: the watch saw no final state left and no ProwJob deleted, and saw each job
// reach exactly one final state, the one it is in.
func (e *chaosEnv) checkTransitions(t *testing.T, pjs []prowv1.ProwJob) {
	t.Helper()
	for _, p := range e.watch.problems() {
		t.Error(p)
	}
	for _, pj := range pjs {
		h, ok := e.watch.history(pj.Name)
		if !ok {
			t.Errorf("%s (%s) was never seen by the watch", pj.Name, pj.Spec.Job)
			continue
		}
		finals := slices.DeleteFunc(slices.Clone(h.states), func(s prowv1.ProwJobState) bool { return !isFinal(s) })
		if len(finals) != 1 || finals[0] != pj.Status.State {
			t.Errorf("%s (%s): seen in %v, now %s: want exactly one final state, the last", pj.Name, pj.Spec.Job, h.states, pj.Status.State)
		}
	}
}

// runKey names what a webhook's job run is for: its job and the SHA it tests.
func runKey(ty prowv1.ProwJobType, job string, pull int, sha string) string {
	return fmt.Sprintf("%s %s #%d %s", ty, job, pull, sha)
}

// keyOf is runKey for a ProwJob.
func keyOf(pj *prowv1.ProwJob) string {
	r := pj.Spec.Refs
	if r == nil {
		return ""
	}
	if len(r.Pulls) > 0 {
		return runKey(pj.Spec.Type, pj.Spec.Job, r.Pulls[0].Number, r.Pulls[0].SHA)
	}
	return runKey(pj.Spec.Type, pj.Spec.Job, 0, r.BaseSHA)
}

// checkExactlyOnce: every job of every webhook exists once, and no other. Trigger starts nothing
// for a pull request event whose head GitHub no longer showed when it was handled (a newer push
// came first); Hook logs those as stale, and only their jobs may be missing.
func (e *chaosEnv) checkExactlyOnce(t *testing.T, pjs []prowv1.ProwJob) (lost, duplicated int) {
	t.Helper()
	count := map[string]int{}
	for i := range pjs {
		if pjs[i].Spec.Type != prowv1.PeriodicJob {
			count[keyOf(&pjs[i])]++
		}
	}
	stale := e.staleDeliveries(t)
	want := map[string]bool{}
	for _, w := range e.gh.webhooks() {
		ty := prowv1.PresubmitJob
		if w.pull == 0 {
			ty = prowv1.PostsubmitJob
		}
		for _, job := range w.jobs {
			k := runKey(ty, job, w.pull, w.sha)
			want[k] = true
			if count[k] == 0 && !stale[w.delivery] {
				lost++
				t.Errorf("lost: no ProwJob for %s (delivery %s)", k, w.delivery)
			}
		}
	}
	for k, n := range count {
		if !want[k] {
			duplicated += n
			t.Errorf("unexpected: %d ProwJobs for %s", n, k)
		} else if n > 1 {
			duplicated += n - 1
			t.Errorf("duplicated: %d ProwJobs for %s", n, k)
		}
	}
	return lost, duplicated
}

// staleDeliveries are the deliveries Hook's log says Trigger found stale.
func (e *chaosEnv) staleDeliveries(t *testing.T) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(e.comps["hook"].logPath)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		if m := staleLine.FindStringSubmatch(line); m != nil {
			out[m[1]] = true
		}
	}
	e.stale = len(out)
	return out
}

// staleLine is Hook's log line (--log-format text) for an event Trigger found stale.
var staleLine = regexp.MustCompile(`stale event: .* delivery=(\S+)`)

// replayedLine is Hook's log line for the deliveries it found in its spool as it started.
var replayedLine = regexp.MustCompile(`handling the deliveries accepted before a restart and not handled deliveries=(\d+)`)

// replayed counts the deliveries Hook handled from its spool after a restart.
func (e *chaosEnv) replayed() int {
	raw, _ := os.ReadFile(e.comps["hook"].logPath)
	n := 0
	for _, m := range replayedLine.FindAllStringSubmatch(string(raw), -1) {
		k, _ := strconv.Atoi(m[1])
		n += k
	}
	return n
}

// checkPeriodics: each periodic ran several times, one run at a time, each started no earlier
// than its interval allows after the one before (no run twice for one interval).
func (e *chaosEnv) checkPeriodics(t *testing.T, pjs []prowv1.ProwJob) {
	t.Helper()
	gaps := map[string]struct {
		interval  time.Duration
		sinceDone bool
	}{"periodic-min": {2 * time.Second, true}, "periodic-interval": {3 * time.Second, false}, "periodic-fail": {3 * time.Second, true}}
	for job, gap := range gaps {
		var runs []prowv1.ProwJob
		for _, pj := range pjs {
			if pj.Spec.Type == prowv1.PeriodicJob && pj.Spec.Job == job {
				runs = append(runs, pj)
			}
		}
		slices.SortFunc(runs, func(a, b prowv1.ProwJob) int { return a.CreationTimestamp.Compare(b.CreationTimestamp.Time) })
		if len(runs) < 2 {
			t.Errorf("%s ran %d times, want several", job, len(runs))
		}
		for i := 1; i < len(runs); i++ {
			prev, cur := runs[i-1], runs[i]
			from := prev.Status.StartTime.Time
			if gap.sinceDone {
				from = prev.Status.CompletionTime.Time
			}
			// Timestamps are kept to the second: allow one.
			if cur.CreationTimestamp.Before(prev.Status.CompletionTime) || cur.CreationTimestamp.Add(time.Second).Before(from.Add(gap.interval)) {
				t.Errorf("%s: run %s created %s, but the one before (%s) started %s and completed %s: twice in one interval",
					job, cur.Name, cur.CreationTimestamp.Format(time.TimeOnly), prev.Name, prev.Status.StartTime.Format(time.TimeOnly), prev.Status.CompletionTime.Format(time.TimeOnly))
			}
		}
	}
}

// checkSuperseded: of each pull request's runs of a presubmit, every one but the newest push's is
// aborted unless it completed before the next was created, and the newest is not aborted.
func (e *chaosEnv) checkSuperseded(t *testing.T, pjs []prowv1.ProwJob) {
	t.Helper()
	push := map[string]int{}
	for _, w := range e.gh.webhooks() {
		push[w.sha] = w.push
	}
	runs := map[string][]prowv1.ProwJob{}
	for _, pj := range pjs {
		if pj.Spec.Type == prowv1.PresubmitJob && pj.Spec.Refs != nil && len(pj.Spec.Refs.Pulls) == 1 {
			k := fmt.Sprintf("%s #%d", pj.Spec.Job, pj.Spec.Refs.Pulls[0].Number)
			runs[k] = append(runs[k], pj)
		}
	}
	for k, rs := range runs {
		slices.SortFunc(rs, func(a, b prowv1.ProwJob) int { return push[a.Spec.Refs.Pulls[0].SHA] - push[b.Spec.Refs.Pulls[0].SHA] })
		for i := range rs[:len(rs)-1] {
			r, next := rs[i], rs[i+1]
			if r.Status.State == prowv1.AbortedState {
				e.superseded++
				continue
			}
			if next.CreationTimestamp.Before(r.Status.CompletionTime) {
				t.Errorf("%s: the run of push %d (%s) ended %s at %s, after push %d's run was created at %s: it was not aborted",
					k, push[r.Spec.Refs.Pulls[0].SHA], r.Name, r.Status.State, r.Status.CompletionTime.Format(time.TimeOnly), push[next.Spec.Refs.Pulls[0].SHA], next.CreationTimestamp.Format(time.TimeOnly))
			}
		}
		if newest := rs[len(rs)-1]; newest.Status.State == prowv1.AbortedState {
			t.Errorf("%s: the run of the newest push (%s) was aborted: %s", k, newest.Name, newest.Status.Description)
		}
	}
}

// statusProblems: the statuses each run's SHA received under its context are pending ones, then
// its final state's, last. The final one may come twice: Crier sends a status before it records
// that it did, so one killed (or one that lost its lease) in between sends it again.
func (e *chaosEnv) statusProblems(pjs []prowv1.ProwJob) []string {
	got := map[string][]string{}
	for _, s := range e.gh.api.Statuses(chaosOrg + "/" + chaosRepo) {
		got[s.SHA+" "+s.Context] = append(got[s.SHA+" "+s.Context], s.State)
	}
	var problems []string
	for _, pj := range pjs {
		if pj.Spec.Type == prowv1.PeriodicJob || pj.Spec.Refs == nil {
			continue
		}
		sha := pj.Spec.Refs.BaseSHA
		if len(pj.Spec.Refs.Pulls) > 0 {
			sha = pj.Spec.Refs.Pulls[0].SHA
		}
		seq := got[sha+" "+pj.Spec.Context]
		want := crier.GitHubState(pj.Status.State)
		pending := slices.IndexFunc(seq, func(s string) bool { return s != "pending" })
		if pending < 0 || slices.ContainsFunc(seq[pending:], func(s string) bool { return s != want }) {
			problems = append(problems, fmt.Sprintf("%s (%s, %s) on %s: statuses %v, want pending ones then %s", pj.Name, pj.Spec.Job, pj.Status.State, sha[:8], seq, want))
		}
	}
	return problems
}

// summaryProblems: each pull request has one summary comment from Crier listing the runs at its
// head that failed (pull-fail, unless aborted), and none that did not; none when none failed.
func (e *chaosEnv) summaryProblems(pjs []prowv1.ProwJob) []string {
	heads := map[int]*webhook{}
	for _, w := range e.gh.webhooks() {
		if w.pull > 0 && (heads[w.pull] == nil || w.push > heads[w.pull].push) {
			heads[w.pull] = w
		}
	}
	var problems []string
	for n, head := range heads {
		failed := map[string]bool{}
		for _, pj := range pjs {
			if pj.Spec.Type == prowv1.PresubmitJob && len(pj.Spec.Refs.Pulls) == 1 && pj.Spec.Refs.Pulls[0].SHA == head.sha {
				failed[pj.Spec.Context] = pj.Status.State == prowv1.FailureState || pj.Status.State == prowv1.ErrorState
			}
		}
		var summaries []string
		for _, c := range e.gh.api.Comments(chaosOrg+"/"+chaosRepo, n) {
			if strings.Contains(c.Body, "failed tests summary") {
				summaries = append(summaries, c.Body)
			}
		}
		want := slices.ContainsFunc(slices.Collect(maps.Values(failed)), func(f bool) bool { return f })
		if !want && len(summaries) == 0 {
			continue
		}
		if len(summaries) != 1 {
			problems = append(problems, fmt.Sprintf("#%d: %d summary comments, want one for the failures at its head %s (%v)", n, len(summaries), head.sha[:7], failed))
			continue
		}
		for job, f := range failed {
			if listed := strings.Contains(summaries[0], job+" | "+head.sha[:7]); listed != f {
				problems = append(problems, fmt.Sprintf("#%d: %s failed at the head %s: %v; listed in the summary: %v\n%s", n, job, head.sha[:7], f, listed, summaries[0]))
			}
		}
	}
	return problems
}

// artifactProblems: each run's directory in the file bucket holds started.json, build-log.txt,
// finished.json and prowjob.json.
func (e *chaosEnv) artifactProblems(pjs []prowv1.ProwJob) []string {
	var problems []string
	for _, pj := range pjs {
		if pj.Status.BuildID == "" || pj.Spec.DecorationConfig == nil {
			problems = append(problems, fmt.Sprintf("%s (%s, %s) has no build ID", pj.Name, pj.Spec.Job, pj.Status.State))
			continue
		}
		dir, err := storage.JobDir(downwardapi.NewJobSpec(pj.Spec, pj.Status.BuildID, pj.Name), pj.Spec.DecorationConfig.GCSConfiguration)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		var missing []string
		for _, f := range []string{"started.json", "build-log.txt", "finished.json", "prowjob.json"} {
			if _, err := os.Stat(filepath.Join(e.dir, "artifacts", dir, f)); err != nil {
				missing = append(missing, f)
			}
		}
		if len(missing) > 0 {
			problems = append(problems, fmt.Sprintf("%s (%s, %s: %s): %s lacks %v", pj.Name, pj.Spec.Job, pj.Status.State, pj.Status.Description, dir, missing))
		}
	}
	return problems
}

// leftoverProcesses are the processes on this machine that run part of one of these ProwJobs
// (PROW_JOB_ID in their environment): a killed node's containers, say.
func leftoverProcesses(pjs []prowv1.ProwJob) []string {
	names := map[string]bool{}
	for _, pj := range pjs {
		names[pj.Name] = true
	}
	environs, _ := filepath.Glob("/proc/[0-9]*/environ")
	var left []string
	for _, p := range environs {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(raw, []byte{0}) {
			if id, ok := bytes.CutPrefix(kv, []byte("PROW_JOB_ID=")); ok && names[string(id)] {
				cmdline, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "cmdline"))
				left = append(left, fmt.Sprintf("%s (%s): %s", filepath.Base(filepath.Dir(p)), id, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
			}
		}
	}
	return left
}

// summary is the run's line of figures.
func (e *chaosEnv) summary(took time.Duration) string {
	serverErrors, rateLimits := e.gh.api.Faults()
	githubErrors := serverErrors + rateLimits
	total := githubErrors
	for _, n := range e.faults {
		total += n
	}
	jobs := e.jobs[prowv1.PeriodicJob] + e.jobs[prowv1.PresubmitJob] + e.jobs[prowv1.PostsubmitJob]
	return fmt.Sprintf("chaos: jobs %d, faults %d (%s %d, %s %d, %s %d, %s %d, github errors %d), lost %d, duplicated %d, %s (seed %d; %d periodic, %d presubmit, %d postsubmit runs; %d webhooks, %d redelivered, %d from Hook's spool, %d stale; %d superseded runs aborted; %d revived; %d crashes restarted)",
		jobs, total, faultCMKill, e.faults[faultCMKill], faultAPIRestart, e.faults[faultAPIRestart], faultNodeKill, e.faults[faultNodeKill], faultHookKill, e.faults[faultHookKill],
		githubErrors, e.lost, e.duplicated, took.Round(time.Second), e.plan.seed,
		e.jobs[prowv1.PeriodicJob], e.jobs[prowv1.PresubmitJob], e.jobs[prowv1.PostsubmitJob], len(e.gh.webhooks()), e.gh.redelivered(), e.replayed(), e.stale, e.superseded, e.revived, len(e.comps.crashes()))
}
