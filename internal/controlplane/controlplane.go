// Package controlplane starts and stops a local kube-apiserver and etcd, listening on loopback
// only, with the ProwJob CRD, its admission policy and Prow's namespaces installed. etcd keeps its
// data under a data directory, so a restart keeps every ProwJob.
package controlplane

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/config/crd"
	"github.com/prowl-ci/prowl/internal/cpbuild"
)

// Version is the control plane's build: the Kubernetes and etcd versions.
var Version = cpbuild.Version()

// Options say where the binaries and the data are.
type Options struct {
	// Assets holds kube-apiserver and etcd; default the cache hack/controlplane/build.sh fills.
	Assets string
	// DataDir holds etcd's data and the admin kubeconfig; empty means a temporary control plane
	// (for tests) whose data goes when it stops, and no kubeconfig is written.
	DataDir string
	// Namespaces are created at start (prowjob_namespace and pod_namespace).
	Namespaces []string
	// Log, when set, receives kube-apiserver's and etcd's output; it is discarded otherwise.
	Log io.Writer
}

// ControlPlane is a running local control plane.
type ControlPlane struct {
	env *envtest.Environment
	// Scheme knows the Kubernetes types, ProwJobs and CRDs.
	Scheme *runtime.Scheme
	// Config reaches the API server as an administrator.
	Config *rest.Config
	// Kubeconfig is the admin kubeconfig's path, <data-dir>/kubeconfig.
	Kubeconfig string

	// keptCerts holds the serving certificate RestartAPIServer serves again, and servingCA its CA.
	keptCerts string
	servingCA []byte
}

// NewScheme knows what a control plane serves: the Kubernetes types, ProwJobs and CRDs.
func NewScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, prowv1.AddToScheme, apiextensionsv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	return scheme, nil
}

// DefaultAssets is where the binaries are built: $PROWL_CACHE, else ~/.cache/prowl, then
// bin/<Version>.
func DefaultAssets() string { return cpbuild.Dir() }

// Start starts etcd and kube-apiserver, installs the CRD, the admission policy and the
// namespaces, and writes the admin kubeconfig.
func Start(ctx context.Context, o Options) (*ControlPlane, error) {
	if o.Assets == "" {
		o.Assets = DefaultAssets()
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(o.Assets, bin)); err != nil {
			return nil, fmt.Errorf("no %s in %s: build the control plane first with `make controlplane` (or let `prowl up` build it; about 7 minutes, once)", bin, o.Assets)
		}
	}
	etcd := &envtest.Etcd{Out: o.Log, Err: o.Log}
	if o.DataDir != "" {
		etcd.DataDir = filepath.Join(o.DataDir, "etcd")
		if err := os.MkdirAll(etcd.DataDir, 0o700); err != nil {
			return nil, err
		}
	}
	prowJobs, err := crd.ProwJobs()
	if err != nil {
		return nil, err
	}
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    o.Assets,
		CRDs:                     []*apiextensionsv1.CustomResourceDefinition{prowJobs},
		Scheme:                   scheme,
		ControlPlaneStartTimeout: time.Minute,
		ControlPlane:             envtest.ControlPlane{Etcd: etcd, APIServer: &envtest.APIServer{Out: o.Log, Err: o.Log, StopTimeout: apiServerStopTimeout}},
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("start the control plane: %w", err)
	}
	cp := &ControlPlane{env: env, Config: cfg, Scheme: scheme}
	if err := cp.install(ctx, scheme, o.Namespaces); err != nil {
		_ = env.Stop()
		return nil, err
	}
	if o.DataDir != "" {
		if cp.Kubeconfig, err = cp.WriteKubeconfig(o.DataDir); err != nil {
			_ = env.Stop()
			return nil, fmt.Errorf("write the admin kubeconfig: %w", err)
		}
	}
	return cp, nil
}

// EtcdURL is etcd's client URL (loopback, no TLS): benchmarks fill etcd through it when the
// API server's admission would take longer than the measurement.
func (cp *ControlPlane) EtcdURL() string { return cp.env.ControlPlane.Etcd.URL.String() }

// WriteKubeconfig writes an admin kubeconfig into dir and returns its path.
func (cp *ControlPlane) WriteKubeconfig(dir string) (string, error) {
	user, err := cp.env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
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

func (cp *ControlPlane) install(ctx context.Context, scheme *runtime.Scheme, namespaces []string) error {
	c, err := client.New(cp.Config, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	policy, binding, err := crd.BuildClusterPolicy()
	if err != nil {
		return err
	}
	var objs []client.Object
	for _, ns := range namespaces {
		objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	for _, obj := range append(objs, policy, binding) {
		if err := c.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("install %s: %w", strings.ToLower(fmt.Sprintf("%T", obj)), err)
		}
	}
	return nil
}

// Stop stops the API server and etcd; the data stays for the next Start.
func (cp *ControlPlane) Stop() error {
	if cp.keptCerts != "" {
		defer os.RemoveAll(cp.keptCerts)
	}
	return cp.env.Stop()
}

// apiServerStopTimeout is how long kube-apiserver may take to stop, after SIGTERM and before
// SIGKILL. It stops listening at once but may wait its --shutdown-timeout (60 s) for open watches
// to end; the requests in flight need much less.
const apiServerStopTimeout = 5 * time.Second

// waitPortFree waits, a little, until nothing listens on addr any more.
func waitPortFree(addr string) error {
	ctx := context.Background()
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
		if err != nil {
			return false, nil
		}
		return true, ln.Close()
	})
	if err != nil {
		return fmt.Errorf("%s is still in use", addr)
	}
	return nil
}

// RestartAPIServer stops the kube-apiserver (SIGTERM, then SIGKILL after apiServerStopTimeout, as
// the kubelet stops a container) and starts it again on the same port and etcd, serving the same
// certificate, so that every client made before (and every kubeconfig written) reconnects as it
// would to a restarted API server of a cluster. etcd keeps running. The first restart copies the serving certificate out of the API server's own
// directory, which envtest removes and fills with new certificates at each start.
func (cp *ControlPlane) RestartAPIServer() error {
	s := cp.env.ControlPlane.APIServer
	if cp.keptCerts == "" {
		dir, err := os.MkdirTemp("", "prowl-apiserver-certs-")
		if err != nil {
			return err
		}
		for _, f := range []string{"apiserver.crt", "apiserver.key"} {
			raw, err := os.ReadFile(filepath.Join(s.CertDir, f))
			if err == nil {
				err = os.WriteFile(filepath.Join(dir, f), raw, 0o600)
			}
			if err != nil {
				_ = os.RemoveAll(dir)
				return fmt.Errorf("keep the API server's serving certificate: %w", err)
			}
		}
		cp.keptCerts, cp.servingCA = dir, s.CA
		s.Configure().Set("tls-cert-file", filepath.Join(dir, "apiserver.crt")).Set("tls-private-key-file", filepath.Join(dir, "apiserver.key"))
	}
	if err := s.Stop(); err != nil {
		// envtest SIGKILLs an API server that did not exit within its stop timeout (kube-apiserver
		// can hang on open watches after it stopped listening), as the kubelet does after the grace
		// period, and says so; it is gone once its port is free.
		if !strings.Contains(err.Error(), "timeout waiting for process") {
			return fmt.Errorf("stop the API server: %w", err)
		}
		if err := waitPortFree(net.JoinHostPort(s.Address, s.Port)); err != nil {
			return fmt.Errorf("stop the API server: killed after %v, but %w", apiServerStopTimeout, err)
		}
	}
	if err := s.Start(); err != nil {
		return fmt.Errorf("start the API server again: %w", err)
	}
	// Start made a new CA for certificates it no longer serves; kubeconfigs written from now on
	// must trust the one served.
	s.CA = cp.servingCA
	return nil
}
