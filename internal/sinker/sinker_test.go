package sinker

import (
	"context"
	"maps"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

const day = 24 * time.Hour

// fixtures creates one object per rule; pods are made in both build clusters. It returns what
// a pass must delete and what it must keep.
func fixtures(h *harness) (deleted, kept []string) {
	// ProwJobs.
	h.prowJob("old-done", "pull-unit", prowv1.PresubmitJob, 8*day, 8*day-time.Hour)     // aged
	h.prowJob("old-running", "pull-unit", prowv1.PresubmitJob, 8*day, 0)                // never: not complete
	h.prowJob("young-done", "pull-unit", prowv1.PresubmitJob, 6*day, 6*day-time.Hour)   // younger than max_prowjob_age
	h.prowJob("nightly-old", "nightly", prowv1.PeriodicJob, 10*day, 10*day-time.Hour)   // aged-periodic
	h.prowJob("nightly-newest", "nightly", prowv1.PeriodicJob, 9*day, 9*day-time.Hour)  // kept: newest run of a periodic in config
	h.prowJob("removed-periodic", "gone", prowv1.PeriodicJob, 9*day, 9*day-time.Hour)   // aged-periodic: no longer in config
	h.prowJob("pj-aged-pod", "pull-unit", prowv1.PresubmitJob, 3*day, time.Hour)        // its Pod is aged
	h.prowJob("pj-ttled-pod", "pull-unit", prowv1.PresubmitJob, 2*day, 25*time.Hour)    // its Pod is ttled
	h.prowJob("pj-running-old-pod", "pull-unit", prowv1.PresubmitJob, 3*day, 0)         // its old Pod is kept
	h.prowJob("pj-young-pod", "pull-unit", prowv1.PresubmitJob, 2*time.Hour, time.Hour) // its Pod is kept
	h.prowJob("pj-by-label", "pull-unit", prowv1.PresubmitJob, 2*day, 25*time.Hour)     // ttled, matched by label
	deleted = []string{"prowjob/old-done", "prowjob/nightly-old", "prowjob/removed-periodic"}
	kept = []string{"prowjob/old-running", "prowjob/young-done", "prowjob/nightly-newest", "prowjob/pj-aged-pod",
		"prowjob/pj-ttled-pod", "prowjob/pj-running-old-pod", "prowjob/pj-young-pod", "prowjob/pj-by-label"}
	for _, c := range []string{prowv1.DefaultClusterAlias, "east"} {
		h.pod(c, "pj-aged-pod", "pj-aged-pod", 49*time.Hour)
		h.pod(c, "pj-ttled-pod", "", 30*time.Hour) // by name
		h.pod(c, "pj-running-old-pod", "pj-running-old-pod", 3*day)
		h.pod(c, "pj-young-pod", "pj-young-pod", 2*time.Hour)
		h.pod(c, "renamed-pod", "pj-by-label", 30*time.Hour)
		h.pod(c, "orphan", "no-such-prowjob", time.Hour)
		h.pod(c, "old-done", "old-done", 0) // its ProwJob goes in this pass: then an orphan
		h.otherPod(c, "not-prow")
		deleted = append(deleted, c+"/pj-aged-pod", c+"/pj-ttled-pod", c+"/renamed-pod", c+"/orphan", c+"/old-done")
		kept = append(kept, c+"/pj-running-old-pod", c+"/pj-young-pod", c+"/not-prow")
	}
	return deleted, kept
}

func (h *harness) present(what string) bool {
	kind, name, _ := strings.Cut(what, "/")
	if kind == "prowjob" {
		return h.prowJobExists(name)
	}
	return h.podExists(kind, name)
}

// TestRules checks every rule, each as its own case, after one pass over two build clusters.
func TestRules(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	deleted, kept := fixtures(h)
	r := h.run(Options{}, nil)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	for _, what := range deleted {
		t.Run("deleted "+what, func(t *testing.T) {
			if h.present(what) {
				t.Errorf("%s is still there", what)
			}
		})
	}
	for _, what := range kept {
		t.Run("kept "+what, func(t *testing.T) {
			if !h.present(what) {
				t.Errorf("%s was deleted", what)
			}
		})
	}
	want := map[string]map[string]int{
		"prowjob": {ReasonProwJobAged: 1, ReasonProwJobAgedPeriodic: 2},
		"pod":     {ReasonPodAged: 2, ReasonPodTTLed: 4, ReasonPodOrphaned: 4},
	}
	for kind, reasons := range want {
		for reason, n := range reasons {
			if got := r.Deleted[kind][reason]; got != n {
				t.Errorf("%s deleted as %s: %d, want %d (all: %v)", kind, reason, got, n, r.Deleted)
			}
		}
	}
	if r.ProwJobs != 11 || r.Pods != 14 {
		t.Errorf("the pass saw %d ProwJobs and %d Pods, want 11 and 14", r.ProwJobs, r.Pods)
	}
	// The job's Pod went in both clusters: client-go's recorder folds the two Events (same object,
	// reason and action) into one series, keeping the note of whichever came first.
	h.waitEvent("pj-aged-pod", "PodDeleted", "Sinker deleted Pod pj-aged-pod in build cluster (default|east) \\(aged\\)\\.")
	h.waitEvent("old-done", "Deleted", regexp.QuoteMeta("Sinker deleted the ProwJob (aged: it started more than sinker.max_prowjob_age ago)."))
}

// waitEvent waits until the ProwJob name has an Event with reason and a note matching the
// regular expression note (anchored).
func (h *harness) waitEvent(name, reason, note string) {
	h.t.Helper()
	var seen []string
	noteRE := regexp.MustCompile("^(?:" + note + ")$")
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var list eventsv1.EventList
		if err := env.Client.List(ctx, &list, client.InNamespace(h.ns)); err != nil {
			return false, err
		}
		seen = seen[:0]
		for _, e := range list.Items {
			seen = append(seen, e.Regarding.Name+": "+e.Reason+": "+e.Note)
			if e.Regarding.Name == name && e.Reason == reason && noteRE.MatchString(e.Note) && e.ReportingController == "sinker" && e.Regarding.Kind == "ProwJob" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		h.t.Errorf("no event %s %q on %s; events: %q", reason, note, name, seen)
	}
}

// TestDryRunDeletesNothing plans the same deletions and makes none.
func TestDryRunDeletesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	deleted, kept := fixtures(h)
	r := h.run(Options{DryRun: true}, nil)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	for _, what := range append(deleted, kept...) {
		if !h.present(what) {
			t.Errorf("dry run deleted %s", what)
		}
	}
	// The ProwJob old-done is still there, so its Pods are not orphans but ttled (it completed
	// long ago).
	if n := r.Deleted["prowjob"][ReasonProwJobAged] + r.Deleted["prowjob"][ReasonProwJobAgedPeriodic]; n != 3 {
		t.Errorf("dry run would delete %d ProwJobs, want 3: %v", n, r.Deleted)
	}
	if want := map[string]int{ReasonPodAged: 2, ReasonPodTTLed: 6, ReasonPodOrphaned: 2}; !maps.Equal(r.Deleted["pod"], want) {
		t.Errorf("dry run would delete Pods %v, want %v", r.Deleted["pod"], want)
	}
}

// TestExcludeClusters leaves the Pods of an excluded build cluster alone.
func TestExcludeClusters(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.cfg.Sinker.ExcludeClusters = []string{"east"}
	h.prowJob("done", "pull-unit", prowv1.PresubmitJob, 3*day, 2*day)
	for _, c := range []string{prowv1.DefaultClusterAlias, "east"} {
		h.pod(c, "done", "done", 3*day)
		h.pod(c, "orphan", "no-such-prowjob", time.Hour)
	}
	r := h.run(Options{}, nil)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if h.podExists("default", "done") || h.podExists("default", "orphan") {
		t.Error("the default cluster's due Pods are still there")
	}
	if !h.podExists("east", "done") || !h.podExists("east", "orphan") {
		t.Error("a Pod of the excluded cluster east was deleted")
	}
	if r.Pods != 2 {
		t.Errorf("the pass read %d Pods, want the default cluster's 2", r.Pods)
	}
}

// TestClusterDown cleans the reachable build clusters when one cannot be reached, and says which.
func TestClusterDown(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.prowJob("done", "pull-unit", prowv1.PresubmitJob, 3*day, 2*day)
	for _, c := range []string{prowv1.DefaultClusterAlias, "east"} {
		h.pod(c, "done", "done", 3*day)
	}
	down := rest.CopyConfig(east.Config)
	down.Host = "https://127.0.0.1:1" // nothing listens on port 1
	r := h.run(Options{CacheSyncTimeout: 3 * time.Second}, map[string]*rest.Config{"down": down})
	if err := r.Err(); err == nil || !strings.Contains(err.Error(), "build cluster down") {
		t.Fatalf("the pass's error does not name the cluster that is down: %v", err)
	}
	for _, c := range []string{prowv1.DefaultClusterAlias, "east"} {
		if h.podExists(c, "done") {
			t.Errorf("cluster %s's aged Pod is still there", c)
		}
	}
}

// TestResync runs a pass again every sinker.resync_period.
func TestResync(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	results := h.start(Options{}, nil)
	if r := <-results; r.Pods != 0 {
		t.Fatalf("first pass saw %d Pods, want none", r.Pods)
	}
	h.pod("east", "orphan", "no-such-prowjob", time.Hour)
	// A pass reads the caches: the one right after the create may not hold the Pod yet, so
	// passes go on, each a resync period later, until one deletes it.
	var r Result
	for pass := 2; pass <= 6 && r.Deleted["pod"][ReasonPodOrphaned] == 0; pass++ {
		err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			return h.clock.HasWaiters(), nil
		})
		if err != nil {
			t.Fatal("Sinker does not wait for the next pass")
		}
		h.clock.Step(time.Hour) // sinker.resync_period's default
		r = <-results
	}
	if r.Deleted["pod"][ReasonPodOrphaned] != 1 || h.podExists("east", "orphan") {
		t.Errorf("no later pass deleted the orphan: %v", r.Deleted)
	}
}

// TestDeleteGoneIsNotAnError: another actor (Plank, a user, a second pass) deleted the object
// first.
func TestDeleteGoneIsNotAnError(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := &Sinker{}
	gone := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "gone", UID: "x"}}
	if err := s.deleteObject(context.Background(), east.Client, gone); err != nil {
		t.Errorf("deleting a Pod that is gone: %v", err)
	}
	pj := &prowv1.ProwJob{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "gone", UID: "y"}}
	if err := s.deleteObject(context.Background(), env.Client, pj); err != nil {
		t.Errorf("deleting a ProwJob that is gone: %v", err)
	}
}

// TestRecreatedIsNotDeleted: the UID precondition keeps a pass from deleting an object that was
// recreated under the planned name.
func TestRecreatedIsNotDeleted(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.pod("east", "again", "", time.Hour)
	s := &Sinker{}
	planned := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "again", UID: "an-older-pod"}}
	if err := s.deleteObject(context.Background(), east.Client, planned); err == nil {
		t.Error("the delete went through without its precondition")
	}
	if !h.podExists("east", "again") {
		t.Error("the recreated Pod was deleted")
	}
}

// TestFinalizerReleased: a Pod held by the pod-info finalizer is released, as Prow's Sinker does,
// when nothing will read it again (its ProwJob is gone, or its artifacts were completed), so it
// does not stay Terminating where no completer runs; one whose podinfo.json is still to come
// keeps the finalizer.
func TestFinalizerReleased(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.prowJob("written", "pull-unit", prowv1.PresubmitJob, 2*day, 25*time.Hour)
	h.annotate("written", prowv1.ArtifactsCompletedAnnotation, "true")
	h.prowJob("unwritten", "pull-unit", prowv1.PresubmitJob, 2*day, 25*time.Hour)
	for _, name := range []string{"written", "unwritten", "orphan"} {
		id := name
		if name == "orphan" {
			id = "no-such-prowjob"
		}
		h.pod("east", name, id, 30*time.Hour)
		h.holdPod("east", name)
	}
	r := h.run(Options{}, nil)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"written", "orphan"} {
		if h.podExists("east", name) {
			t.Errorf("Pod %s is still there: Sinker did not remove its finalizer", name)
		}
	}
	pod := &corev1.Pod{}
	if !h.exists("east", pod, "unwritten") || pod.DeletionTimestamp == nil || !controllerutil.ContainsFinalizer(pod, prowv1.PodInfoFinalizer) {
		t.Errorf("the Pod whose podinfo.json is to come should be deleted and still held: %+v", pod.ObjectMeta)
	}
	if err := h.clients["east"].Patch(context.Background(), pod, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))); err != nil {
		t.Fatal(err)
	}
}

// holdPod adds the pod-info finalizer to a Pod, as the artifacts completer does.
func (h *harness) holdPod(cluster, name string) {
	h.t.Helper()
	patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":["`+prowv1.PodInfoFinalizer+`"]}}`))
	if err := h.clients[cluster].Patch(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: name}}, patch); err != nil {
		h.t.Fatal(err)
	}
}

// annotate sets an annotation on a ProwJob.
func (h *harness) annotate(name, key, value string) {
	h.t.Helper()
	patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"`+key+`":"`+value+`"}}}`))
	if err := env.Client.Patch(context.Background(), &prowv1.ProwJob{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: name}}, patch); err != nil {
		h.t.Fatal(err)
	}
}
