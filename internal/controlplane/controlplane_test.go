package controlplane_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	. "github.com/prowl-ci/prowl/internal/controlplane"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// TestRestartKeepsProwJobs starts the control plane, creates a ProwJob through the written
// kubeconfig, stops it, starts it again on the same data dir and finds the ProwJob.
func TestRestartKeepsProwJobs(t *testing.T) {
	assets, err := testutil.ControlPlaneAssets()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx := context.Background()
	opts := Options{Assets: assets, DataDir: dir, Namespaces: []string{"default", "test-pods"}}
	cp, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	c := testutil.KubeconfigClient(t, cp.Kubeconfig)
	pj := &prowv1.ProwJob{ObjectMeta: metav1.ObjectMeta{Name: "kept", Namespace: "default"}, Spec: prowv1.ProwJobSpec{Type: prowv1.PeriodicJob, Job: "echo-test"}}
	if err := c.Create(ctx, pj); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, client.ObjectKey{Name: "test-pods"}, &corev1.Namespace{}); err != nil {
		t.Errorf("namespace test-pods: %v", err)
	}
	if err := cp.Stop(); err != nil {
		t.Fatal(err)
	}
	cp, err = Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cp.Stop() }()
	c = testutil.KubeconfigClient(t, cp.Kubeconfig)
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "kept"}, &prowv1.ProwJob{}); err != nil {
		t.Errorf("after a restart on the same data dir: %v", err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", cp.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cfg.Host, "127.0.0.1") && !strings.Contains(cfg.Host, "localhost") {
		t.Errorf("the API server listens on %s, not loopback", cfg.Host)
	}
}

// TestRestartAPIServer restarts the kube-apiserver alone, twice, on the same etcd: a client made
// from the kubeconfig written before reaches it again on the same port, trusting the same
// certificate, and finds what it created before.
func TestRestartAPIServer(t *testing.T) {
	assets, err := testutil.ControlPlaneAssets()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cp, err := Start(ctx, Options{Assets: assets, DataDir: t.TempDir(), Namespaces: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cp.Stop() }()
	c := testutil.KubeconfigClient(t, cp.Kubeconfig)
	for i, name := range []string{"before-first", "before-second"} {
		pj := &prowv1.ProwJob{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}, Spec: prowv1.ProwJobSpec{Type: prowv1.PeriodicJob, Job: "echo-test"}}
		if err := c.Create(ctx, pj); err != nil {
			t.Fatal(err)
		}
		if err := cp.RestartAPIServer(); err != nil {
			t.Fatalf("restart %d: %v", i+1, err)
		}
		if err := c.Get(ctx, client.ObjectKeyFromObject(pj), &prowv1.ProwJob{}); err != nil {
			t.Errorf("after restart %d, the client made before: %v", i+1, err)
		}
	}
	// A kubeconfig written after a restart trusts the certificate served.
	dir := t.TempDir()
	path, err := cp.WriteKubeconfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.KubeconfigClient(t, path).Get(ctx, client.ObjectKey{Namespace: "default", Name: "before-first"}, &prowv1.ProwJob{}); err != nil {
		t.Errorf("a kubeconfig written after the restarts: %v", err)
	}
}
