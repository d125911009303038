package plank

import (
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// TestAnyClusterLocal: a job of an alias Plank does not know ends in error unless every alias
// runs on the manager's own cluster (prowl up's local node).
func TestAnyClusterLocal(t *testing.T) {
	t.Parallel()
	r := &Reconciler{BuildClusters: map[string]client.Client{prowv1.DefaultClusterAlias: env.Client}}
	pj := &prowv1.ProwJob{Spec: prowv1.ProwJobSpec{Cluster: "k8s-infra-prow-build"}}
	if _, ok := r.cluster(pj); ok {
		t.Error("an unknown alias has a cluster")
	}
	r.AnyClusterLocal = true
	if c, ok := r.cluster(pj); !ok || c != env.Client {
		t.Errorf("with AnyClusterLocal the alias runs on %v, %v; want the default cluster", c, ok)
	}
}
