//go:build tools

// Package tools names the two control-plane programs that hack/controlplane builds, so that
// `go mod tidy` keeps their dependencies in this module and out of Prowl's own go.mod.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
