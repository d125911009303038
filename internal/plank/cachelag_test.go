package plank

import (
	"context"
	"slices"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
)

// laggingCache plays an informer cache that has not seen the latest writes: it serves the
// namespace's ProwJobs as they were when last refreshed, with Plank's indexes; everything else,
// and every write, goes to the API server.
type laggingCache struct {
	t  *testing.T
	ns string
	mu sync.Mutex
	pj []prowv1.ProwJob
}

func newLaggingCache(t *testing.T, ns string) (*laggingCache, client.Client) {
	t.Helper()
	direct, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	lc := &laggingCache{t: t, ns: ns}
	lc.refresh()
	return lc, interceptor.NewClient(direct, interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if pj, ok := obj.(*prowv1.ProwJob); ok {
				return lc.get(key, pj)
			}
			return c.Get(ctx, key, obj, opts...)
		},
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			if l, ok := list.(*prowv1.ProwJobList); ok {
				return lc.list(l, opts...)
			}
			return c.List(ctx, list, opts...)
		},
	})
}

// refresh catches up with the API server.
func (lc *laggingCache) refresh() {
	lc.t.Helper()
	var list prowv1.ProwJobList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(lc.ns)); err != nil {
		lc.t.Fatal(err)
	}
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.pj = list.Items
}

func (lc *laggingCache) get(key client.ObjectKey, out *prowv1.ProwJob) error {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	for i := range lc.pj {
		if lc.pj[i].Namespace == key.Namespace && lc.pj[i].Name == key.Name {
			lc.pj[i].DeepCopyInto(out)
			return nil
		}
	}
	return apierrors.NewNotFound(prowv1.SchemeGroupVersion.WithResource("prowjobs").GroupResource(), key.Name)
}

// list serves a list by one of Plank's indexes (client.MatchingFields), as the cache does.
func (lc *laggingCache) list(out *prowv1.ProwJobList, opts ...client.ListOption) error {
	lo := (&client.ListOptions{}).ApplyOptions(opts)
	lc.mu.Lock()
	defer lc.mu.Unlock()
	out.Items = nil
	for _, pj := range lc.pj {
		if lo.Namespace != "" && pj.Namespace != lo.Namespace {
			continue
		}
		if lo.FieldSelector != nil && !matchesIndex(&pj, lo.FieldSelector.Requirements()) {
			continue
		}
		out.Items = append(out.Items, *pj.DeepCopy())
	}
	return nil
}

// matchesIndex says whether pj is found by index field = value for every requirement.
func matchesIndex(pj *prowv1.ProwJob, reqs fields.Requirements) bool {
	for _, r := range reqs {
		if !slices.Contains(indexers()[r.Field](pj), r.Value) {
			return false
		}
	}
	return true
}

// TestStartsCountedBeforeTheCacheShowsThem: under plank.max_concurrency 1, a job started while
// the cache still shows it triggered holds the only slot, so a second job read from the same
// cache waits; once the cache shows the first finished, the second starts. (Counting the
// cache's pending jobs alone, both started: TestPlankLoad saw 78 pending under a limit of 50.)
func TestStartsCountedBeforeTheCacheShowsThem(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "  max_concurrency: 1\n")
	h.cancel() // this test reconciles by hand
	h.create("first", nil)
	h.create("second", nil)
	lc, cached := newLaggingCache(t, h.ns)
	r := &Reconciler{Client: cached, BuildClusters: map[string]client.Client{prowv1.DefaultClusterAlias: env.Client},
		Config: func() *config.Config { return h.cfg }, Clock: h.clock, BuildIDs: h.r.BuildIDs}
	reconcile := func(name string) {
		t.Helper()
		if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKey{Namespace: h.ns, Name: name}}); err != nil {
			t.Fatalf("reconcile %s: %v", name, err)
		}
	}
	reconcile("first")
	if got := h.get("first"); got.Status.State != prowv1.PendingState {
		t.Fatalf("first did not start: %+v", got.Status)
	}
	reconcile("second")
	if got := h.get("second"); got.Status.State == prowv1.PendingState || h.podExists("second") {
		t.Fatalf("second started while first held the only slot and the cache showed first triggered: %+v", got.Status)
	} else if got.Status.Description != "Waiting: plank.max_concurrency (1) is reached" {
		t.Errorf("second's description %q", got.Status.Description)
	}
	first := h.get("first")
	first.Status.State, first.Status.CompletionTime = prowv1.SuccessState, &metav1.Time{Time: h.clock.Now()}
	if err := env.Client.Status().Update(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	lc.refresh()
	reconcile("second")
	if got := h.get("second"); got.Status.State != prowv1.PendingState {
		t.Fatalf("second did not start once first finished: %+v", got.Status)
	}
}

// TestPodNotYetCachedIsNotRevived: a pending job whose Pod the cache has not seen yet (the
// ProwJobs' and the Pods' watches run apart) is not taken for one whose Pod vanished: the API
// server is asked, and the job stays pending with no revival.
func TestPodNotYetCachedIsNotRevived(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "")
	h.cancel() // this test reconciles by hand
	pj := h.create("fresh", nil)
	pj.Status.State, pj.Status.PodName, pj.Status.BuildID = prowv1.PendingState, "fresh", "1"
	if err := env.Client.Status().Update(context.Background(), pj); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "fresh", Namespace: h.ns}, Spec: *pj.Spec.PodSpec.DeepCopy()}
	pod.Spec.Containers[0].Name = "test"
	if err := env.Client.Create(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	direct, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	notYet := interceptor.NewClient(direct, interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
		if _, ok := obj.(*corev1.Pod); ok {
			return apierrors.NewNotFound(corev1.Resource("pods"), key.Name)
		}
		return c.Get(ctx, key, obj, opts...)
	}})
	r := &Reconciler{Client: env.Client, BuildClusters: map[string]client.Client{prowv1.DefaultClusterAlias: notYet},
		LiveReaders: map[string]client.Reader{prowv1.DefaultClusterAlias: env.Client},
		Config:      func() *config.Config { return h.cfg }, Clock: h.clock, BuildIDs: h.r.BuildIDs}
	if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(pj)}); err != nil {
		t.Fatal(err)
	}
	if got := h.get("fresh"); got.Status.State != prowv1.PendingState || got.Status.PodRevivalCount != 0 {
		t.Errorf("a Pod the cache had not seen was taken for vanished: %+v", got.Status)
	}
}
