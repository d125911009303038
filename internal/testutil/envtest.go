package testutil

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
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
func (e *Env) Kubeconfig(dir string) (string, error) { return e.cp.WriteKubeconfig(dir) }

// EtcdURL is the control plane's etcd client URL.
func (e *Env) EtcdURL() string { return e.cp.EtcdURL() }

// Stop stops the control plane.
func (e *Env) Stop() error { return e.cp.Stop() }

// RunWithEnv is a package's TestMain: it starts a control plane into *env, runs the tests, stops it
// and returns the exit code for os.Exit.
func RunWithEnv(m interface{ Run() int }, env **Env) int {
	e, err := StartEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	*env = e
	code := m.Run()
	if err := e.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop control plane:", err)
	}
	return code
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
