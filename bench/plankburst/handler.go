package plankburst

import (
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// podAdded calls f with the name of each Pod the informer adds.
func podAdded(f func(name string)) toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{AddFunc: func(obj any) {
		if o, ok := obj.(client.Object); ok {
			f(o.GetName())
		}
	}}
}
