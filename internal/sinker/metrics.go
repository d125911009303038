package sinker

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Prow's gauges of the last pass, with Prow's names (dashboards read them), and Prowl's counters
// of every deletion by kind and reason.
var (
	podsExisting = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "sinker_pods_existing", Help: "Pods made by Prow in the build clusters at the last pass.",
	})
	prowJobsExisting = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "sinker_prow_jobs_existing", Help: "ProwJobs at the last pass.",
	})
	loopDuration = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "sinker_loop_duration_seconds", Help: "How long the last pass took.",
	})
	podsRemoved = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "sinker_pods_removed", Help: "Pods the last pass deleted, by reason.",
	}, []string{"reason"})
	prowJobsCleaned = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "sinker_prow_jobs_cleaned", Help: "ProwJobs the last pass deleted, by reason.",
	}, []string{"reason"})
	deletedTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "prowl_sinker_deleted_total", Help: "Objects Sinker deleted (or, in a dry run, would have), by kind and reason.",
	}, []string{"kind", "reason"})
	deleteErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "prowl_sinker_delete_errors_total", Help: "Deletes that failed, by kind and the API server's reason.",
	}, []string{"kind", "reason"})
	clusterErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "prowl_sinker_cluster_errors_total", Help: "Passes that could not read a build cluster's Pods, by cluster.",
	}, []string{"cluster"})
	passSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "prowl_sinker_pass_duration_seconds", Help: "How long each pass took, deletes included.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
	})
)

func init() {
	ctrlmetrics.Registry.MustRegister(podsExisting, prowJobsExisting, loopDuration, podsRemoved, prowJobsCleaned,
		deletedTotal, deleteErrors, clusterErrors, passSeconds)
}

// observe records a pass's result.
func observe(r Result) {
	podsExisting.Set(float64(r.Pods))
	prowJobsExisting.Set(float64(r.ProwJobs))
	loopDuration.Set(r.Took.Seconds())
	passSeconds.Observe(r.Took.Seconds())
	podsRemoved.Reset()
	prowJobsCleaned.Reset()
	for reason, n := range r.Deleted["pod"] {
		podsRemoved.WithLabelValues(reason).Set(float64(n))
		deletedTotal.WithLabelValues("pod", reason).Add(float64(n))
	}
	for reason, n := range r.Deleted["prowjob"] {
		prowJobsCleaned.WithLabelValues(reason).Set(float64(n))
		deletedTotal.WithLabelValues("prowjob", reason).Add(float64(n))
	}
}
