// Package crd holds what the API server needs to serve ProwJobs: the CustomResourceDefinition that
// controller-gen generates from api/v1 (`make generate`), and the admission policy that checks a
// ProwJob's build cluster. Tests, `prowl up` and deploy/ install them from here.
package crd

import (
	"bytes"
	_ "embed"
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// BuildClustersConfigMap is the ConfigMap, in the ProwJobs' namespace, whose keys are the build
// clusters that ProwJobs with agent kubernetes may name.
const BuildClustersConfigMap = "prowl-build-clusters"

//go:embed prow.k8s.io_prowjobs.yaml
var prowJobsYAML []byte

//go:embed prowjob-build-cluster-policy.yaml
var policyYAML []byte

// ProwJobsYAML is the generated CRD as written to config/crd.
func ProwJobsYAML() []byte { return bytes.Clone(prowJobsYAML) }

// ProwJobs decodes the ProwJob CRD.
func ProwJobs() (*apiextensionsv1.CustomResourceDefinition, error) {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(prowJobsYAML), 4096).Decode(crd); err != nil {
		return nil, fmt.Errorf("decode embedded prow.k8s.io_prowjobs.yaml: %w", err)
	}
	return crd, nil
}

// BuildClusterPolicy decodes the admission policy and its binding that reject ProwJobs naming an
// unknown build cluster.
func BuildClusterPolicy() (*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding, error) {
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(policyYAML), 4096)
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}
	if err := dec.Decode(policy); err != nil {
		return nil, nil, fmt.Errorf("decode embedded policy: %w", err)
	}
	if err := dec.Decode(binding); err != nil {
		return nil, nil, fmt.Errorf("decode embedded policy binding: %w", err)
	}
	return policy, binding, nil
}
