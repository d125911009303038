// Package v1 is the ProwJob API, group prow.k8s.io, version v1: the custom resource in which every
// job run lives. Field names, JSON keys and enum values are Prow's, exactly, so that Prow's objects,
// tools and config read and write unchanged. It imports only apimachinery and core/v1 because the
// pod utilities import it.
//
// +kubebuilder:object:generate=true
// +groupName=prow.k8s.io
package v1
