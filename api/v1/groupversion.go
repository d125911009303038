package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// SchemeGroupVersion is the group and version of the ProwJob API.
var SchemeGroupVersion = schema.GroupVersion{Group: "prow.k8s.io", Version: "v1"}

// Resource is the plural resource name that clients address.
const Resource = "prowjobs"

var (
	// SchemeBuilder registers the ProwJob types with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds the ProwJob types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion, &ProwJob{}, &ProwJobList{})
	metav1.AddToGroupVersion(scheme, SchemeGroupVersion)
	return nil
}
