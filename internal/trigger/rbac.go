package trigger

// Hook's permissions (Trigger is what acts), generated into config/rbac/hook by `make generate`:
// it creates ProwJobs (with their initial status), lists a pull request's runs to supersede them,
// and aborts them through their status. Hook reads the API server directly (no cache, no watch).
// +kubebuilder:rbac:groups=prow.k8s.io,namespace=prow,resources=prowjobs,verbs=get;list;create
// +kubebuilder:rbac:groups=prow.k8s.io,namespace=prow,resources=prowjobs/status,verbs=update;patch
// +kubebuilder:rbac:groups="",namespace=prow,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,namespace=prow,resources=events,verbs=create;patch
