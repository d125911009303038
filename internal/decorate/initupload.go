package decorate

import (
	corev1 "k8s.io/api/core/v1"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/downwardapi"
	"github.com/prowl-ci/prowl/internal/podutils/options"
)

func initUploadContainer(dc *prowv1.DecorationConfig, upload options.GCSUpload, storageMounts []corev1.VolumeMount, cloned bool, jobSpec string) (*corev1.Container, error) {
	opts := options.InitUpload{GCSUpload: &upload}
	var mounts []corev1.VolumeMount
	if cloned {
		opts.Log = cloneLogPath
		mounts = append(mounts, logMount)
	}
	mounts = append(mounts, storageMounts...)
	encoded, err := options.Encode(opts)
	if err != nil {
		return nil, err
	}
	c := &corev1.Container{
		Name:         InitUploadName,
		Image:        dc.UtilityImages.InitUpload,
		Command:      InitUploadCommand(),
		Env:          kubeEnv(map[string]string{downwardapi.JobSpecEnv: jobSpec, options.InitUploadEnv: encoded}),
		VolumeMounts: mounts,
	}
	if dc.Resources != nil && dc.Resources.InitUpload != nil {
		c.Resources = *dc.Resources.InitUpload.DeepCopy()
	}
	return c, nil
}
