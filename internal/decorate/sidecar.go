package decorate

import (
	corev1 "k8s.io/api/core/v1"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/downwardapi"
	"github.com/prowl-ci/prowl/internal/podutils/options"
	"github.com/prowl-ci/prowl/internal/podutils/wrapper"
)

func sidecarContainer(dc *prowv1.DecorationConfig, upload options.GCSUpload, storageMounts []corev1.VolumeMount, jobSpec string, secretMounts []corev1.VolumeMount, entries []wrapper.Options) (*corev1.Container, error) {
	upload.Items = append(append([]string{}, upload.Items...), ArtifactsPath)
	censoring := &options.CensoringOptions{}
	for _, m := range secretMounts {
		censoring.SecretDirectories = append(censoring.SecretDirectories, m.MountPath)
	}
	if co := dc.CensoringOptions; co != nil {
		censoring.CensoringConcurrency = co.CensoringConcurrency
		censoring.CensoringBufferSize = co.CensoringBufferSize
		censoring.IncludeDirectories = co.IncludeDirectories
		censoring.ExcludeDirectories = co.ExcludeDirectories
		censoring.MinimumSecretLength = co.MinimumSecretLength
	}
	encoded, err := options.Encode(options.Sidecar{
		GCSOptions:       &upload,
		Entries:          entries,
		IgnoreInterrupts: dc.UploadIgnoresInterrupts != nil && *dc.UploadIgnoresInterrupts,
		CensoringOptions: censoring,
	})
	if err != nil {
		return nil, err
	}
	mounts := append([]corev1.VolumeMount{logMount}, storageMounts...)
	mounts = append(mounts, secretMounts...)
	c := &corev1.Container{
		Name:                     SidecarName,
		Image:                    dc.UtilityImages.Sidecar,
		Command:                  SidecarCommand(),
		Env:                      kubeEnv(map[string]string{downwardapi.JobSpecEnv: jobSpec, options.SidecarEnv: encoded}),
		VolumeMounts:             mounts,
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	if dc.Resources != nil && dc.Resources.Sidecar != nil {
		c.Resources = *dc.Resources.Sidecar.DeepCopy()
	}
	return c, nil
}
