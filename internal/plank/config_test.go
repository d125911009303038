package plank

import "sigs.k8s.io/controller-runtime/pkg/config"

// controllerConfig lets several managers in one test binary register a controller of one name.
func controllerConfig() config.Controller {
	skip := true
	return config.Controller{SkipNameValidation: &skip}
}
