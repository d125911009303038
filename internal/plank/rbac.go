package plank

// Plank's permissions, generated into config/rbac/plank by `make generate`. The namespaces are
// deploy/'s defaults (ProwJobs in prow, Pods in test-pods); deploy/ renames them for other ones.
// ProwJobs: read through the cache, status written (state, pod name, build ID, URL). The cache is
// split by kind (manager.Options.PodNamespace): ProwJobs are watched only in prow, Pods only in
// test-pods.
// +kubebuilder:rbac:groups=prow.k8s.io,namespace=prow,resources=prowjobs,verbs=get;list;watch
// +kubebuilder:rbac:groups=prow.k8s.io,namespace=prow,resources=prowjobs/status,verbs=get;update;patch
// The build clusters the admission policy accepts (PublishBuildClusters).
// +kubebuilder:rbac:groups="",namespace=prow,resources=configmaps,verbs=create
// +kubebuilder:rbac:groups="",namespace=prow,resources=configmaps,verbs=update,resourceNames=prowl-build-clusters
// Pods in the pod namespace of every build cluster: created, followed, deleted; patched by the
// artifact completer beside Plank, which holds the pod-info finalizer until podinfo.json is written.
// +kubebuilder:rbac:groups="",namespace=test-pods,resources=pods,verbs=get;list;watch;create;delete;patch
// Leader election (a Lease in the namespace the component runs in) and Events.
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=prow,resources=leases,verbs=get;create;update
// +kubebuilder:rbac:groups="",namespace=prow,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,namespace=prow,resources=events,verbs=create;patch
