package decorate

import (
	corev1 "k8s.io/api/core/v1"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/podutils/options"
)

// blobStorage is the upload configuration and the credential volumes and mounts it needs.
func blobStorage(dc *prowv1.DecorationConfig) ([]corev1.Volume, []corev1.VolumeMount, options.GCSUpload) {
	upload := options.GCSUpload{GCSConfiguration: dc.GCSConfiguration}
	var volumes []corev1.Volume
	var mounts []corev1.VolumeMount
	add := func(secret *string, name, mountPath string, file *string) {
		if secret == nil || *secret == "" {
			return
		}
		volumes = append(volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: *secret}}})
		mounts = append(mounts, corev1.VolumeMount{Name: name, MountPath: mountPath})
		*file = mountPath + "/service-account.json"
	}
	add(dc.GCSCredentialsSecret, gcsCredentialsName, gcsCredentialsPath, &upload.GCSCredentialsFile)
	add(dc.S3CredentialsSecret, s3CredentialsName, s3CredentialsPath, &upload.S3CredentialsFile)
	return volumes, mounts, upload
}
