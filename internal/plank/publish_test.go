package plank

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/prowl-ci/prowl/config/crd"
)

// The leader publishes the build clusters it knows, "default" first, for the admission policy.
func TestAddClusterPublisher(t *testing.T) {
	ns := env.Namespace(t, "publish")
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{Scheme: env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := AddClusterPublisher(mgr, ns, map[string]cluster.Cluster{"build-b": nil, "build-a": nil}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	}()
	var cm corev1.ConfigMap
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		return env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: crd.BuildClustersConfigMap}, &cm) == nil, nil
	})
	if err != nil {
		t.Fatalf("no %s ConfigMap published: %v", crd.BuildClustersConfigMap, err)
	}
	for _, name := range []string{"default", "build-a", "build-b"} {
		if _, ok := cm.Data[name]; !ok {
			t.Errorf("published clusters %v lack %s", cm.Data, name)
		}
	}
	if len(cm.Data) != 3 {
		t.Errorf("published clusters %v, want exactly default, build-a, build-b", cm.Data)
	}
}
