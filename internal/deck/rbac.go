package deck

// Deck's permissions, generated into config/rbac/deck by `make generate` (issue #14): it lists
// and watches ProwJobs, creates reruns and aborts through the status, and reads a running job's
// Pod and its log.
// +kubebuilder:rbac:groups=prow.k8s.io,namespace=prow,resources=prowjobs,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=prow.k8s.io,namespace=prow,resources=prowjobs/status,verbs=update;patch
// +kubebuilder:rbac:groups="",namespace=test-pods,resources=pods;pods/log,verbs=get
// +kubebuilder:rbac:groups="",namespace=prow,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,namespace=prow,resources=events,verbs=create;patch
