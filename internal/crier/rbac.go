package crier

// Crier's permissions, generated into config/rbac/crier by `make generate`: it reads ProwJobs
// and records what it reported in their status (prev_report_states).
// +kubebuilder:rbac:groups=prow.k8s.io,namespace=prow,resources=prowjobs,verbs=get;list;watch
// +kubebuilder:rbac:groups=prow.k8s.io,namespace=prow,resources=prowjobs/status,verbs=patch
// Leader election (a Lease in the namespace the component runs in) and Events.
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=prow,resources=leases,verbs=get;create;update
// +kubebuilder:rbac:groups="",namespace=prow,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,namespace=prow,resources=events,verbs=create;patch
