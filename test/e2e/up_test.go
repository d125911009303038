// Package e2e runs Prowl as a user does, through its command line, against real parts.
package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/cli"
	"github.com/prowl-ci/prowl/internal/testutil"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestUpRunsTheSeedsPeriodic: `prowl up` with no config starts a local control plane and runs the
// embedded examples: Horologium creates echo-test's ProwJob and Plank its decorated Pod. The local
// node that would run the Pod does not exist yet, so the test stops there.
func TestUpRunsTheSeedsPeriodic(t *testing.T) {
	if _, err := testutil.ControlPlaneAssets(); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- cli.Execute(ctx, []string{"up", "--data-dir", dataDir}, &stdout, &stderr) }()

	kubeconfig := filepath.Join(dataDir, "kubeconfig")
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		select {
		case code := <-done:
			t.Fatalf("prowl up exited %d early:\n%s\n%s", code, stdout.String(), stderr.String())
		default:
		}
		_, err := os.Stat(kubeconfig)
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("no kubeconfig written:\n%s", stdout.String())
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = prowv1.AddToScheme(scheme)
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	var pj prowv1.ProwJob
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var list prowv1.ProwJobList
		if err := c.List(ctx, &list, client.InNamespace("default")); err != nil || len(list.Items) == 0 {
			return false, nil
		}
		pj = list.Items[0]
		return pj.Status.State == prowv1.PendingState, nil
	})
	if err != nil {
		t.Fatalf("echo-test never became pending: %+v\n%s", pj.Status, stderr.String())
	}
	if pj.Spec.Job != "echo-test" || pj.Status.BuildID == "" {
		t.Errorf("ProwJob %+v", pj)
	}
	var pod corev1.Pod
	if err := c.Get(ctx, client.ObjectKey{Namespace: "test-pods", Name: pj.Name}, &pod); err != nil {
		t.Fatalf("no Pod for the ProwJob: %v", err)
	}
	if len(pod.Spec.InitContainers) != 2 || pod.Spec.Containers[0].Command[0] != "/tools/entrypoint" {
		t.Errorf("the Pod is not decorated: %+v", pod.Spec)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("prowl up exited %d after Ctrl-C:\n%s", code, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("prowl up did not stop")
	}
}
