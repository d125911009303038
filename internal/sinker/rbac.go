package sinker

// Sinker's permissions, generated into config/rbac/sinker by `make generate` (issue #16): it
// deletes old ProwJobs and the Pods of finished, aged or orphaned ones in every build cluster.
// +kubebuilder:rbac:groups=prow.k8s.io,namespace=prow,resources=prowjobs,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups="",namespace=test-pods,resources=pods,verbs=get;list;watch;delete
// Leader election (a Lease in the namespace the component runs in) and Events.
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=prow,resources=leases,verbs=get;create;update
// +kubebuilder:rbac:groups="",namespace=prow,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,namespace=prow,resources=events,verbs=create;patch
