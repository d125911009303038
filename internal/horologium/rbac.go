package horologium

// Horologium's permissions, generated into config/rbac/horologium by `make generate`: it reads
// the periodics' ProwJobs and creates new ones (with their initial status).
// +kubebuilder:rbac:groups=prow.k8s.io,namespace=prow,resources=prowjobs,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=prow.k8s.io,namespace=prow,resources=prowjobs/status,verbs=update
// Leader election (a Lease in the namespace the component runs in) and Events.
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=prow,resources=leases,verbs=get;create;update
// +kubebuilder:rbac:groups="",namespace=prow,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,namespace=prow,resources=events,verbs=create;patch
