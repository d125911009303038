package decorate

import (
	"path"

	corev1 "k8s.io/api/core/v1"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/podutils/entrypointoptions"
	"github.com/prowl-ci/prowl/internal/podutils/wrapper"
)

// placeEntrypoint copies the entrypoint binary from its image into the tools volume.
func placeEntrypoint(dc *prowv1.DecorationConfig) corev1.Container {
	c := corev1.Container{
		Name:         PlaceEntrypointName,
		Image:        dc.UtilityImages.Entrypoint,
		Command:      EntrypointCommand(),
		Args:         []string{"--copy-mode-only"},
		VolumeMounts: []corev1.VolumeMount{toolsMount},
	}
	if dc.Resources != nil && dc.Resources.PlaceEntrypoint != nil {
		c.Resources = *dc.Resources.PlaceEntrypoint.DeepCopy()
	}
	return c
}

// injectEntrypoint makes the entrypoint in the tools volume the container's command, carrying the
// original command and args in ENTRYPOINT_OPTIONS. prefix names the container's log, marker and
// metadata files when the Pod has several test containers.
func injectEntrypoint(c *corev1.Container, dc *prowv1.DecorationConfig, prefix string) (*wrapper.Options, error) {
	w := &wrapper.Options{
		Args:          append(append([]string{}, c.Command...), c.Args...),
		ContainerName: c.Name,
		ProcessLog:    path.Join(LogMountPath, "process-log.txt"),
		MarkerFile:    path.Join(LogMountPath, "marker-file.txt"),
		MetadataFile:  path.Join(ArtifactsPath, "metadata.json"),
	}
	if prefix != "" {
		w.ProcessLog = path.Join(LogMountPath, prefix+"-log.txt")
		w.MarkerFile = path.Join(LogMountPath, prefix+"-marker.txt")
		w.MetadataFile = path.Join(ArtifactsPath, prefix+"-metadata.json")
	}
	opts := entrypointoptions.Options{ArtifactDir: ArtifactsPath, Options: w}
	if dc.Timeout != nil {
		opts.Timeout = dc.Timeout.Duration
	}
	if dc.GracePeriod != nil {
		opts.GracePeriod = dc.GracePeriod.Duration
	}
	encoded, err := opts.Encode()
	if err != nil {
		return nil, err
	}
	c.Command = []string{path.Join(ToolsMountPath, "entrypoint")}
	c.Args = nil
	c.Env = append(c.Env, corev1.EnvVar{Name: entrypointoptions.OptionsEnv, Value: encoded})
	c.VolumeMounts = append(c.VolumeMounts, logMount, toolsMount)
	return w, nil
}
