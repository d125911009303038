package plank

import (
	"context"
	"sort"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cluster"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// AddClusterPublisher makes mgr publish the build clusters Plank knows (the manager's own as
// "default", and clusters) for the ProwJob admission policy, once this replica leads: the policy
// then refuses a ProwJob naming a cluster no Plank can run it on.
func AddClusterPublisher(mgr ctrl.Manager, namespace string, clusters map[string]cluster.Cluster) error {
	names := []string{prowv1.DefaultClusterAlias}
	for n := range clusters {
		names = append(names, n)
	}
	sort.Strings(names[1:])
	return mgr.Add(&clusterPublisher{mgr: mgr, namespace: namespace, names: names})
}

// clusterPublisher is the leader-only runnable of AddClusterPublisher.
type clusterPublisher struct {
	mgr       ctrl.Manager
	namespace string
	names     []string
}

// NeedLeaderElection says only the leader publishes: replicas would write the same ConfigMap.
func (p *clusterPublisher) NeedLeaderElection() bool { return true }

// Start publishes once and waits for the manager to stop. A failure is logged, not returned: Plank
// runs without it; only the admission policy's check of spec.cluster is lost.
func (p *clusterPublisher) Start(ctx context.Context) error {
	if err := PublishBuildClusters(ctx, p.mgr.GetClient(), p.namespace, p.names); err != nil {
		logr.FromContextOrDiscard(ctx).Error(err, "the admission policy will not know the build clusters")
	}
	<-ctx.Done()
	return nil
}
