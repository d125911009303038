package plank

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
)

// TestConflictIsAQuietRequeue: when the API server refuses Plank's status write because someone
// wrote the ProwJob meanwhile (a real 409), the reconcile returns no error (no error log, no
// stack trace) and comes back soon; the next reconcile, reading afresh, stores the change.
func TestConflictIsAQuietRequeue(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "")
	h.cancel() // this test reconciles by hand
	pj := h.create("raced", nil)
	pj.Status.State = prowv1.AbortedState
	if err := env.Client.Status().Update(context.Background(), pj); err != nil {
		t.Fatal(err)
	}
	direct, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	raced := false
	c := interceptor.NewClient(direct, interceptor.Funcs{SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
		if !raced {
			raced = true // another writer gets in first
			other := &prowv1.ProwJob{}
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), other); err != nil {
				return err
			}
			other.Status.Description = "Aborted by someone else."
			if err := env.Client.Status().Update(ctx, other); err != nil {
				return err
			}
		}
		return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
	}})
	r := &Reconciler{Client: c, BuildClusters: map[string]client.Client{prowv1.DefaultClusterAlias: c},
		Config: func() *config.Config { return h.cfg }, Clock: h.clock, BuildIDs: h.r.BuildIDs}
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(pj)}
	res, err := r.Reconcile(context.Background(), req)
	if err != nil || res.RequeueAfter != time.Second {
		t.Fatalf("after a conflict: %+v, %v; want a requeue within 1s and no error", res, err)
	}
	if got := h.get("raced"); got.Complete() {
		t.Fatalf("the conflicting write was stored: %+v", got.Status)
	}
	if _, err := r.Reconcile(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if got := h.get("raced"); !got.Complete() || got.Status.Description != "Aborted by someone else." {
		t.Errorf("after reading afresh: %+v", got.Status)
	}
}

// TestUnknownClusterInEitherState: a job whose spec.cluster names no build cluster ends in error
// with a TerminalError, whether it is still triggered or already pending (its cluster gone from
// Plank's config since).
func TestUnknownClusterInEitherState(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "")
	h.cancel() // this test reconciles by hand
	h.create("t-mars", func(pj *prowv1.ProwJob) { pj.Spec.Cluster = "mars" })
	p := h.create("p-mars", func(pj *prowv1.ProwJob) { pj.Spec.Cluster = "mars" })
	p.Status.State, p.Status.PodName, p.Status.BuildID = prowv1.PendingState, "p-mars", "1"
	if err := env.Client.Status().Update(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{Client: env.Client, BuildClusters: map[string]client.Client{prowv1.DefaultClusterAlias: env.Client},
		Config: func() *config.Config { return h.cfg }, Clock: h.clock, BuildIDs: h.r.BuildIDs}
	for _, name := range []string{"t-mars", "p-mars"} {
		_, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKey{Namespace: h.ns, Name: name}})
		if !errors.Is(err, reconcile.TerminalError(nil)) {
			t.Errorf("%s: %v, want a TerminalError", name, err)
		}
		if pj := h.get(name); pj.Status.State != prowv1.ErrorState || !strings.Contains(pj.Status.Description, `"mars" is not known`) || pj.Status.CompletionTime == nil {
			t.Errorf("%s: %+v", name, pj.Status)
		}
	}
}
