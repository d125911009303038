package config

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
)

// matches reports whether every one of the preset's labels is on the job.
func (p *Preset) matches(labels map[string]string) bool {
	for k, v := range p.Labels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// applyPresets adds every matching preset's env and volumeMounts to every container of spec (not
// the init containers, as in Prow), and its volumes and tolerations to the Pod. A name the spec
// already has, or a toleration it has already, is an error: a preset never silently overrides the
// job.
func applyPresets(presets []Preset, labels map[string]string, spec *corev1.PodSpec) error {
	if spec == nil {
		return nil
	}
	for i := range presets {
		p := &presets[i]
		if !p.matches(labels) {
			continue
		}
		containers := spec.Containers
		for c := range containers {
			for _, e := range p.Env {
				for _, have := range containers[c].Env {
					if have.Name == e.Name {
						return fmt.Errorf("env var %s from the preset with labels %v is already set in the pod spec; remove one", e.Name, p.Labels)
					}
				}
				containers[c].Env = append(containers[c].Env, e)
			}
			for _, m := range p.VolumeMounts {
				for _, have := range containers[c].VolumeMounts {
					if have.Name == m.Name {
						return fmt.Errorf("volumeMount %s from the preset with labels %v is already in the pod spec; remove one", m.Name, p.Labels)
					}
				}
				containers[c].VolumeMounts = append(containers[c].VolumeMounts, m)
			}
		}
		for _, v := range p.Volumes {
			for _, have := range spec.Volumes {
				if have.Name == v.Name {
					return fmt.Errorf("volume %s from the preset with labels %v is already in the pod spec; remove one", v.Name, p.Labels)
				}
			}
			spec.Volumes = append(spec.Volumes, v)
		}
		for _, t := range p.Tolerations {
			for _, have := range spec.Tolerations {
				if equality.Semantic.DeepEqual(have, t) {
					return fmt.Errorf("toleration %s from the preset with labels %v is already in the pod spec; remove one", t.Key, p.Labels)
				}
			}
			spec.Tolerations = append(spec.Tolerations, t)
		}
	}
	return nil
}
