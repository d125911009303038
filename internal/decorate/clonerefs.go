package decorate

import (
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/podutils/options"
)

// cloneRefsContainer is the clonerefs init container, the refs it clones and the volumes it
// needs; nil when there is nothing to clone or cloning is skipped.
func cloneRefsContainer(pj *prowv1.ProwJob) (*corev1.Container, []prowv1.Refs, []corev1.Volume, error) {
	dc := pj.Spec.DecorationConfig
	if dc.SkipCloning != nil && *dc.SkipCloning {
		return nil, nil, nil, nil
	}
	var refs []prowv1.Refs
	if pj.Spec.Refs != nil {
		refs = append(refs, *pj.Spec.Refs)
	}
	refs = append(refs, pj.Spec.ExtraRefs...)
	if len(refs) == 0 {
		return nil, nil, nil, nil
	}
	var volumes []corev1.Volume
	var mounts []corev1.VolumeMount
	opts := options.CloneRefs{
		SrcRoot: CodeMountPath, Log: cloneLogPath,
		GitUserName: options.DefaultGitUserName, GitUserEmail: options.DefaultGitUserEmail,
		GitRefs: refs, HostFingerprints: dc.SSHHostFingerprints,
		GitHubAPIEndpoints: dc.GitHubAPIEndpoints, GitHubAppID: dc.GitHubAppID,
	}
	if len(opts.GitHubAPIEndpoints) == 0 {
		opts.GitHubAPIEndpoints = []string{"https://api.github.com"}
	}
	keyMode := int32(0o400)
	for _, secret := range dc.SSHKeySecrets {
		name := "ssh-keys-" + secret
		mountPath := path.Join("/secrets/ssh", secret)
		volumes = append(volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret, DefaultMode: &keyMode}}})
		mounts = append(mounts, corev1.VolumeMount{Name: name, MountPath: mountPath, ReadOnly: true})
		opts.KeyFiles = append(opts.KeyFiles, mountPath)
	}
	secretFile := func(secret, key, mountPath string) string {
		volumes = append(volumes, corev1.Volume{Name: secret, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: secret, Items: []corev1.KeyToPath{{Key: key, Path: "./" + key}},
		}}})
		mounts = append(mounts, corev1.VolumeMount{Name: secret, MountPath: mountPath, ReadOnly: true})
		return path.Join(mountPath, key)
	}
	if s := dc.OauthTokenSecret; s != nil {
		opts.OauthTokenFile = secretFile(s.Name, s.Key, "/secrets/oauth")
	}
	if s := dc.GitHubAppPrivateKeySecret; s != nil {
		opts.GitHubAppPrivateKeyFile = secretFile(s.Name, s.Key, "/secrets/github-app")
	}
	volumes = append(volumes, emptyDir("clonerefs-tmp"))
	mounts = append(mounts, corev1.VolumeMount{Name: "clonerefs-tmp", MountPath: "/tmp"})
	var args []string
	if c := dc.CookiefileSecret; c != nil && *c != "" {
		// "secret" or "secret/key"; the key defaults to the secret's name.
		secret, key, ok := strings.Cut(*c, "/")
		if !ok {
			key = secret
		}
		mode := int32(0o400)
		volumes = append(volumes, corev1.Volume{Name: "cookiefile", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret, DefaultMode: &mode}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "cookiefile", MountPath: "/secrets/cookiefile", ReadOnly: true})
		opts.CookiePath = path.Join("/secrets/cookiefile", key)
		args = append(args, "--cookiefile="+opts.CookiePath)
	}
	encoded, err := options.Encode(opts)
	if err != nil {
		return nil, nil, nil, err
	}
	c := corev1.Container{
		Name:         CloneRefsName,
		Image:        dc.UtilityImages.CloneRefs,
		Command:      CloneRefsCommand(),
		Args:         args,
		Env:          []corev1.EnvVar{{Name: options.CloneRefsEnv, Value: encoded}},
		VolumeMounts: append([]corev1.VolumeMount{logMount, codeMount}, mounts...),
	}
	if dc.Resources != nil && dc.Resources.CloneRefs != nil {
		c.Resources = *dc.Resources.CloneRefs.DeepCopy()
	}
	return &c, refs, volumes, nil
}
