package v1

// PodInfoFinalizer keeps a job's Pod, once deleted, until its podinfo.json is written: Prow's
// Crier's pod-info (gcsk8sreporter) reporter adds and removes it under this name, and Prow's
// Sinker strips it from Pods whose ProwJob is gone, so a Prow and a Prowl treat each other's
// Pods alike.
const PodInfoFinalizer = "prow.x-k8s.io/gcsk8sreporter"

// ArtifactsCompletedAnnotation marks a ProwJob whose artifact directory Prowl's completer has
// completed (prowjob.json, podinfo.json, and what the run lacked): its Pod is no longer needed.
const ArtifactsCompletedAnnotation = "prowl.dev/artifacts-completed"
