package testutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/prowl-ci/prowl/internal/controlplane"
)

// Env is a running kube-apiserver and etcd with the ProwJob CRD and its admission policy installed.
type Env struct {
	cp     *controlplane.ControlPlane
	Config *rest.Config
	Client client.Client
	Scheme *runtime.Scheme
	// Assets is the directory holding kube-apiserver, etcd and kubectl.
	Assets string
}

// ControlPlaneAssets finds the control-plane binaries: $KUBEBUILDER_ASSETS, else the directory that
// hack/controlplane/build.sh fills in the cache.
func ControlPlaneAssets() (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	dir := controlplane.DefaultAssets()
	if _, err := os.Stat(filepath.Join(dir, "kube-apiserver")); err != nil {
		return "", fmt.Errorf("no kube-apiserver in %s: run `make test`, or hack/controlplane/build.sh, which builds it", dir)
	}
	return dir, nil
}

// StartEnv starts a temporary control plane for one test package (the same code as `prowl up`);
// call it from TestMain and Stop it there.
func StartEnv() (*Env, error) {
	assets, err := ControlPlaneAssets()
	if err != nil {
		return nil, err
	}
	ctx, cancel := contextWithTimeout()
	defer cancel()
	cp, err := controlplane.Start(ctx, controlplane.Options{Assets: assets})
	if err != nil {
		return nil, err
	}
	cfg := cp.Config
	// Tests create thousands of objects; the client's default 5 QPS would make them slow for nothing.
	cfg.QPS, cfg.Burst = 1000, 2000
	c, err := client.New(cfg, client.Options{Scheme: cp.Scheme})
	if err != nil {
		_ = cp.Stop()
		return nil, err
	}
	return &Env{cp: cp, Config: cfg, Client: c, Scheme: cp.Scheme, Assets: assets}, nil
}

// Kubeconfig writes an admin kubeconfig for the control plane into dir and returns its path.
func (e *Env) Kubeconfig(dir string) (string, error) {
	if e.cp == nil {
		return "", errors.New("a fuzzing worker's control plane is its coordinator's: no kubeconfig of its own")
	}
	return e.cp.WriteKubeconfig(dir)
}

// EtcdURL is the control plane's etcd client URL ("" in a fuzzing worker).
func (e *Env) EtcdURL() string {
	if e.cp == nil {
		return ""
	}
	return e.cp.EtcdURL()
}

// Stop stops the control plane, if this process started it.
func (e *Env) Stop() error {
	if e.cp == nil {
		return nil
	}
	return e.cp.Stop()
}

// RunWithEnv is a package's TestMain: it starts a control plane into *env, runs the tests, stops it
// and returns the exit code for os.Exit. When fuzzing, the workers (this binary again, with
// -test.fuzzworker) use the coordinator's control plane rather than start their own: the
// coordinator gives a worker 2 s to stop before killing it, too little to stop a control plane,
// whose orphaned processes then held the pipe the worker had inherited, and the coordinator
// waited on it for ever (`make fuzz` hung in internal/deck, leaving etcd running).
func RunWithEnv(m interface{ Run() int }, env **Env) int {
	if path := os.Getenv(sharedKubeconfigEnv); path != "" && slices.Contains(os.Args[1:], "-test.fuzzworker") {
		e, err := connectEnv(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		*env = e
		return m.Run()
	}
	e, err := StartEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	*env = e
	if fuzzing() {
		dir, err := e.shareWithFuzzWorkers()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			_ = e.Stop()
			return 1
		}
		defer os.RemoveAll(dir)
	}
	code := m.Run()
	if err := e.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop control plane:", err)
	}
	return code
}

// sharedKubeconfigEnv names the kubeconfig of a fuzzing coordinator's control plane, for its
// workers.
const sharedKubeconfigEnv = "PROWL_TEST_FUZZ_KUBECONFIG"

// fuzzing says whether this test binary coordinates fuzzing (go test -fuzz).
func fuzzing() bool {
	return slices.ContainsFunc(os.Args[1:], func(a string) bool { return strings.HasPrefix(a, "-test.fuzz=") && a != "-test.fuzz=" })
}

// shareWithFuzzWorkers writes an admin kubeconfig into a new directory, which it returns, and
// names it in the environment the fuzzing workers start with.
func (e *Env) shareWithFuzzWorkers() (string, error) {
	dir, err := os.MkdirTemp("", "prowl-fuzz-env-")
	if err != nil {
		return "", err
	}
	path, err := e.Kubeconfig(dir)
	if err == nil {
		err = os.Setenv(sharedKubeconfigEnv, path)
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("share the control plane with the fuzzing workers: %w", err)
	}
	return dir, nil
}

// connectEnv reaches the running control plane of kubeconfig; stopping it is left to its owner.
func connectEnv(kubeconfig string) (*Env, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("the fuzzing coordinator's control plane: %w", err)
	}
	cfg.QPS, cfg.Burst = 1000, 2000
	scheme, err := controlplane.NewScheme()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	assets, _ := ControlPlaneAssets() // for tests that start binaries of their own
	return &Env{Config: cfg, Client: c, Scheme: scheme, Assets: assets}, nil
}

// Namespace makes a namespace of the test's own (named prefix-<random>) and returns its name.
func (e *Env) Namespace(t testing.TB, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	if err := e.Client.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}
