package plank

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/config/crd"
)

// BuildClusters opens a cluster for each context of a kubeconfig: the context's name is the
// build cluster's alias that ProwJobs name in spec.cluster. Their caches hold Pods of podNamespace.
func BuildClusters(kubeconfig string, scheme *runtime.Scheme, podNamespace string) (map[string]cluster.Cluster, error) {
	if kubeconfig == "" {
		return nil, nil
	}
	raw, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("build-cluster kubeconfig: %w", err)
	}
	out := map[string]cluster.Cluster{}
	for name := range raw.Contexts {
		cfg, err := clientcmd.NewNonInteractiveClientConfig(*raw, name, nil, nil).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("build cluster %s: %w", name, err)
		}
		c, err := cluster.New(cfg, func(o *cluster.Options) {
			o.Scheme = scheme
			o.Cache = cache.Options{DefaultNamespaces: map[string]cache.Config{podNamespace: {}}}
		})
		if err != nil {
			return nil, fmt.Errorf("build cluster %s: %w", name, err)
		}
		out[name] = c
	}
	return out, nil
}

// PublishBuildClusters writes the ConfigMap whose keys the admission policy accepts as
// spec.cluster of ProwJobs with agent kubernetes.
func PublishBuildClusters(ctx context.Context, c client.Client, namespace string, clusters []string) error {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: crd.BuildClustersConfigMap, Namespace: namespace, Labels: map[string]string{prowv1.CreatedByProw: "true"}}, Data: map[string]string{}}
	for _, name := range clusters {
		cm.Data[name] = ""
	}
	err := c.Create(ctx, cm)
	if apierrors.IsAlreadyExists(err) {
		err = c.Update(ctx, cm)
	}
	if err != nil {
		return fmt.Errorf("publish build clusters: %w", err)
	}
	return nil
}
