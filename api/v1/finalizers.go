package v1

// PodInfoFinalizer keeps a job's Pod, once deleted, until its podinfo.json is written: Prow's
// Crier's pod-info (gcsk8sreporter) reporter adds and removes it under this name, and Prow's
// Sinker strips it from Pods whose ProwJob is gone, so a Prow and a Prowl treat each other's
// Pods alike.
const PodInfoFinalizer = "prow.x-k8s.io/gcsk8sreporter"
