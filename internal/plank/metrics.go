package plank

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	reconcileSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "prowl_plank_reconcile_seconds", Help: "How long one Plank reconcile takes.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	})
	podCreateSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "prowl_plank_pod_create_seconds", Help: "From a ProwJob's creation to its Pod's.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 16),
	})
)

func init() { ctrlmetrics.Registry.MustRegister(reconcileSeconds, podCreateSeconds) }
