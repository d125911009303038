package plank

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// TestBuildClusterFromKubeconfig runs a ProwJob on a second, real API server named by a context
// of a build-cluster kubeconfig.
func TestBuildClusterFromKubeconfig(t *testing.T) {
	t.Parallel()
	second, err := testutil.StartEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = second.Stop() }()
	dir := t.TempDir()
	path, err := second.Kubeconfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Rename the only context to the alias ProwJobs use.
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, ctx := range kc.Contexts {
		delete(kc.Contexts, name)
		kc.Contexts["build-east"] = ctx
	}
	kc.CurrentContext = "build-east"
	buildKubeconfig := filepath.Join(dir, "build-clusters.yaml")
	if err := clientcmd.WriteToFile(*kc, buildKubeconfig); err != nil {
		t.Fatal(err)
	}

	h := newHarness(t, "")
	h.cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: h.ns}}
	if err := second.Client.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	clusters, err := BuildClusters(buildKubeconfig, env.Scheme, h.ns)
	if err != nil || len(clusters) != 1 {
		t.Fatalf("clusters %v, %v", clusters, err)
	}
	h.startWith(clusters)
	h.create("remote", func(pj *prowv1.ProwJob) { pj.Spec.Cluster = "build-east" })
	h.waitState("remote", prowv1.PendingState)
	pod := &corev1.Pod{}
	err = wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		return second.Client.Get(ctx, client.ObjectKey{Namespace: h.ns, Name: "remote"}, pod) == nil, nil
	})
	if err != nil {
		t.Fatal("the Pod was not created on the build cluster")
	}
	if h.podExists("remote") {
		t.Error("the Pod was created on the control plane's cluster too")
	}
	pod.Status.Phase = corev1.PodSucceeded
	if err := second.Client.Status().Update(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	h.waitState("remote", prowv1.SuccessState)
	_ = os.Remove(buildKubeconfig)
}
