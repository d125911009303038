package testutil

import (
	"fmt"
	"os"
	"path/filepath"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/config/crd"
	"github.com/prowl-ci/prowl/internal/controlplane"
)

// Env is a running kube-apiserver and etcd with the ProwJob CRD and its admission policy installed.
type Env struct {
	env    *envtest.Environment
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

// StartEnv starts a control plane for one test package; call it from TestMain and Stop it there.
func StartEnv() (*Env, error) {
	assets, err := ControlPlaneAssets()
	if err != nil {
		return nil, err
	}
	prowJobs, err := crd.ProwJobs()
	if err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, prowv1.AddToScheme, apiextensionsv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	e := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDs:                  []*apiextensionsv1.CustomResourceDefinition{prowJobs},
		Scheme:                scheme,
	}
	cfg, err := e.Start()
	if err != nil {
		return nil, fmt.Errorf("start control plane from %s: %w", assets, err)
	}
	// Tests create thousands of objects; the client's default 5 QPS would make them slow for nothing.
	cfg.QPS, cfg.Burst = 1000, 2000
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = e.Stop()
		return nil, err
	}
	env := &Env{env: e, Config: cfg, Client: c, Scheme: scheme, Assets: assets}
	if err := env.installPolicy(); err != nil {
		_ = e.Stop()
		return nil, err
	}
	return env, nil
}

func (e *Env) installPolicy() error {
	policy, binding, err := crd.BuildClusterPolicy()
	if err != nil {
		return err
	}
	ctx, cancel := contextWithTimeout()
	defer cancel()
	for _, obj := range []client.Object{policy, binding} {
		if err := e.Client.Create(ctx, obj); err != nil {
			return fmt.Errorf("install %T: %w", obj, err)
		}
	}
	return nil
}

// Kubeconfig writes an admin kubeconfig for the control plane into dir and returns its path.
func (e *Env) Kubeconfig(dir string) (string, error) {
	user, err := e.env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", err
	}
	data, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "kubeconfig")
	return p, os.WriteFile(p, data, 0o600)
}

// Stop stops the control plane.
func (e *Env) Stop() error { return e.env.Stop() }

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
