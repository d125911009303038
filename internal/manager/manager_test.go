package manager

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

const kubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`

// One set of defaults: a client config gets DefaultQPS and DefaultBurst unless told otherwise, and
// a manager builds with them and with its servers off.
func TestOptionsDefaults(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Options{Kubeconfig: path}.RestConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.QPS != DefaultQPS || cfg.Burst != DefaultBurst || cfg.Host != "https://127.0.0.1:1" {
		t.Errorf("defaults: host %s, QPS %v, burst %d; want %v, %d", cfg.Host, cfg.QPS, cfg.Burst, DefaultQPS, DefaultBurst)
	}
	cfg, err = Options{Kubeconfig: path, QPS: 5, Burst: 10}.RestConfig()
	if err != nil || cfg.QPS != 5 || cfg.Burst != 10 {
		t.Errorf("given limits: %v, %v", cfg, err)
	}
	if _, err := (Options{Kubeconfig: filepath.Join(t.TempDir(), "missing")}).RestConfig(); err == nil || !strings.Contains(err.Error(), "--kubeconfig") {
		t.Errorf("a missing kubeconfig: %v, want an error saying to set --kubeconfig", err)
	}
	mgr, err := New(Options{Kubeconfig: path, Namespaces: []string{"default"}, MetricsAddr: "0", HealthAddr: "0"})
	if err != nil {
		t.Fatal(err)
	}
	if mgr.GetConfig().QPS != DefaultQPS {
		t.Errorf("the manager's client config QPS %v, want %v", mgr.GetConfig().QPS, DefaultQPS)
	}
	if _, ok := mgr.GetScheme().KnownTypes(prowv1.SchemeGroupVersion)["ProwJob"]; !ok {
		t.Error("the manager's scheme does not know ProwJobs")
	}
}
