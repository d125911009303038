// Package decorate turns a ProwJob into the Pod that runs it: a pure function, with no clients.
// A decorated job's containers run through the entrypoint, and init containers and a sidecar clone
// the code and upload the log, the result and the artifacts, exactly as Prow lays them out.
package decorate

import (
	"fmt"
	"path"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/downwardapi"
	"github.com/prowl-ci/prowl/internal/podutils/entrypointoptions"
	"github.com/prowl-ci/prowl/internal/podutils/options"
	"github.com/prowl-ci/prowl/internal/podutils/wrapper"
)

// Where the decoration mounts its volumes, and what it names them; Prow's, exactly.
const (
	LogMountName   = "logs"
	LogMountPath   = "/logs"
	ArtifactsPath  = LogMountPath + "/artifacts"
	CodeMountName  = "code"
	CodeMountPath  = "/home/prow/go"
	ToolsMountName = "tools"
	ToolsMountPath = "/tools"

	gcsCredentialsName = "gcs-credentials"
	gcsCredentialsPath = "/secrets/gcs"
	s3CredentialsName  = "s3-credentials"
	s3CredentialsPath  = "/secrets/s3-storage"
	cloneLogPath       = LogMountPath + "/clone.json"

	artifactsEnv = "ARTIFACTS"
	gopathEnv    = "GOPATH"

	// TestContainerName is the name of a job's only container.
	TestContainerName = "test"
	// The utility containers.
	CloneRefsName       = "clonerefs"
	InitUploadName      = "initupload"
	PlaceEntrypointName = "place-entrypoint"
	SidecarName         = "sidecar"
)

// The commands the utility containers run. Prow's images start their utility through the image's
// entrypoint; Prowl names the binary, so that any image (or the local node's host filesystem) that
// has it at this path will do. Each call returns a fresh slice: a Pod's Command is its own, so
// that changing one Pod cannot change the next.
func CloneRefsCommand() []string  { return []string{"/clonerefs"} }
func InitUploadCommand() []string { return []string{"/initupload"} }
func EntrypointCommand() []string { return []string{"/entrypoint"} }
func SidecarCommand() []string    { return []string{"/sidecar"} }

var (
	logMount   = corev1.VolumeMount{Name: LogMountName, MountPath: LogMountPath}
	codeMount  = corev1.VolumeMount{Name: CodeMountName, MountPath: CodeMountPath}
	toolsMount = corev1.VolumeMount{Name: ToolsMountName, MountPath: ToolsMountPath}
)

func emptyDir(name string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
}

// Pod is the Pod that runs one run of pj, with build ID buildID. The Pod has the ProwJob's name,
// so that creating it twice finds the first; it lives in spec.namespace.
func Pod(pj *prowv1.ProwJob, buildID string) (*corev1.Pod, error) {
	if pj.Spec.PodSpec == nil {
		return nil, fmt.Errorf("prowjob %s has no pod_spec", pj.Name)
	}
	rawEnv, err := downwardapi.NewJobSpec(pj.Spec, buildID, pj.Name).Env()
	if err != nil {
		return nil, err
	}
	spec := pj.Spec.PodSpec.DeepCopy()
	spec.RestartPolicy = corev1.RestartPolicyNever
	if len(spec.Containers) == 1 {
		spec.Containers[0].Name = TestContainerName
	}
	// Kubernetes mounts a token unless told not to; a job gets one only when it asks for a
	// service account or for the token itself.
	if spec.AutomountServiceAccountToken == nil && spec.ServiceAccountName == "" {
		no := false
		spec.AutomountServiceAccountToken = &no
	}
	if pj.Spec.DecorationConfig == nil {
		for i := range spec.Containers {
			spec.Containers[i].Env = append(spec.Containers[i].Env, kubeEnv(rawEnv)...)
		}
	} else if err := decorate(spec, pj, rawEnv); err != nil {
		return nil, fmt.Errorf("decorate prowjob %s: %w", pj.Name, err)
	}
	// A container that fails before writing a termination message still leaves its log's tail.
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range cs {
			if cs[i].TerminationMessagePolicy == "" {
				cs[i].TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
			}
		}
	}
	extraLabels := map[string]string{}
	for k, v := range pj.Labels {
		extraLabels[k] = v
	}
	extraLabels[prowv1.IDLabel] = pj.Name
	extraLabels[prowv1.BuildIDLabel] = buildID
	labels, annotations := LabelsAndAnnotations(pj.Spec, extraLabels, pj.Annotations)
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: pj.Name, Namespace: pj.Spec.Namespace, Labels: labels, Annotations: annotations},
		Spec:       *spec,
	}, nil
}

// kubeEnv turns variables into env entries sorted by name.
func kubeEnv(env map[string]string) []corev1.EnvVar {
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]corev1.EnvVar, len(names))
	for i, k := range names {
		out[i] = corev1.EnvVar{Name: k, Value: env[k]}
	}
	return out
}

func decorate(spec *corev1.PodSpec, pj *prowv1.ProwJob, rawEnv map[string]string) error {
	dc := pj.Spec.DecorationConfig
	if dc.UtilityImages == nil {
		return fmt.Errorf("decoration_config has no utility_images")
	}
	rawEnv[artifactsEnv] = ArtifactsPath
	rawEnv[gopathEnv] = CodeMountPath
	encodedJobSpec := rawEnv[downwardapi.JobSpecEnv]

	storageVolumes, storageMounts, upload := blobStorage(dc)

	cloner, refs, cloneVolumes, err := cloneRefs(pj)
	if err != nil {
		return err
	}
	if cloner != nil {
		spec.InitContainers = append([]corev1.Container{*cloner}, spec.InitContainers...)
	}
	initUpload, err := initUploadContainer(dc, upload, storageMounts, cloner != nil, encodedJobSpec)
	if err != nil {
		return err
	}
	spec.InitContainers = append(spec.InitContainers, *initUpload, placeEntrypoint(dc))
	for i := range spec.Containers {
		spec.Containers[i].Env = append(spec.Containers[i].Env, kubeEnv(rawEnv)...)
	}

	// With censor_secrets, the sidecar mounts every secret the test containers mount, to censor
	// their values.
	secretVolumes := map[string]bool{}
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			secretVolumes[v.Name] = true
		}
	}
	censor := dc.CensorSecrets != nil && *dc.CensorSecrets
	var secretMounts []corev1.VolumeMount
	var entries []wrapper.Options
	for i := range spec.Containers {
		prefix := spec.Containers[i].Name
		if len(spec.Containers) == 1 {
			prefix = ""
		}
		w, err := injectEntrypoint(&spec.Containers[i], dc, prefix)
		if err != nil {
			return err
		}
		for _, m := range spec.Containers[i].VolumeMounts {
			if censor && secretVolumes[m.Name] {
				secretMounts = append(secretMounts, m)
			}
		}
		entries = append(entries, *w)
	}
	side, err := sidecar(dc, upload, storageMounts, encodedJobSpec, secretMounts, entries)
	if err != nil {
		return err
	}

	spec.Volumes = append(spec.Volumes, emptyDir(LogMountName), emptyDir(ToolsMountName))
	spec.Volumes = append(spec.Volumes, storageVolumes...)
	if len(refs) > 0 {
		workDir := workDir(refs)
		for i := range spec.Containers {
			spec.Containers[i].WorkingDir = workDir
			spec.Containers[i].VolumeMounts = append(spec.Containers[i].VolumeMounts, codeMount)
		}
		spec.Volumes = append(spec.Volumes, cloneVolumes...)
		spec.Volumes = append(spec.Volumes, emptyDir(CodeMountName))
	}
	applyResourceDefaults(spec, dc)
	applySecurityAndScheduling(spec, dc)
	spec.Containers = append(spec.Containers, *side)

	// The Pod's grace period must cover the test's own grace period and the upload after it:
	// Prow's rule of thumb is an 80/20 split.
	if spec.TerminationGracePeriodSeconds == nil && dc.GracePeriod != nil {
		seconds := int64(dc.GracePeriod.Seconds()) * 5 / 4
		spec.TerminationGracePeriodSeconds = &seconds
	}
	if spec.ServiceAccountName == "" && dc.DefaultServiceAccountName != nil {
		spec.ServiceAccountName = *dc.DefaultServiceAccountName
	}
	return nil
}

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

// cloneRefs is the clonerefs init container, the refs it clones and the volumes it needs; nil when
// there is nothing to clone or cloning is skipped.
func cloneRefs(pj *prowv1.ProwJob) (*corev1.Container, []prowv1.Refs, []corev1.Volume, error) {
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

func sidecar(dc *prowv1.DecorationConfig, upload options.GCSUpload, storageMounts []corev1.VolumeMount, jobSpec string, secretMounts []corev1.VolumeMount, entries []wrapper.Options) (*corev1.Container, error) {
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

// workDir is the test containers' working directory: the checkout of the ref marked workdir, or
// of the first.
func workDir(refs []prowv1.Refs) string {
	chosen := refs[0]
	for _, r := range refs {
		if r.WorkDir {
			chosen = r
			break
		}
	}
	return path.Join(CodeMountPath, "src", downwardapi.RepoPath(chosen))
}

// applyResourceDefaults sets the default memory request and, when asked, memory limits equal to
// requests on the test containers.
func applyResourceDefaults(spec *corev1.PodSpec, dc *prowv1.DecorationConfig) {
	for i := range spec.Containers {
		r := &spec.Containers[i].Resources
		if dc.DefaultMemoryRequest != nil {
			if _, ok := r.Requests[corev1.ResourceMemory]; !ok {
				if r.Requests == nil {
					r.Requests = corev1.ResourceList{}
				}
				r.Requests[corev1.ResourceMemory] = dc.DefaultMemoryRequest.DeepCopy()
			}
		}
		if dc.SetLimitEqualsMemoryRequest != nil && *dc.SetLimitEqualsMemoryRequest {
			if req, ok := r.Requests[corev1.ResourceMemory]; ok {
				if r.Limits == nil {
					r.Limits = corev1.ResourceList{}
				}
				r.Limits[corev1.ResourceMemory] = req
			}
		}
	}
}

// applySecurityAndScheduling fills in the Pod's user, group, fsGroup, affinity and tolerations
// from the decoration config where the job's Pod sets none.
func applySecurityAndScheduling(spec *corev1.PodSpec, dc *prowv1.DecorationConfig) {
	if spec.SecurityContext == nil {
		spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	sc := spec.SecurityContext
	if dc.RunAsUser != nil && sc.RunAsUser == nil {
		sc.RunAsUser = ptr.To(*dc.RunAsUser)
	}
	if dc.RunAsGroup != nil && sc.RunAsGroup == nil {
		sc.RunAsGroup = ptr.To(*dc.RunAsGroup)
	}
	if dc.FsGroup != nil && sc.FSGroup == nil {
		sc.FSGroup = ptr.To(*dc.FsGroup)
	}
	if so := dc.SchedulingOptions; so != nil {
		if so.Affinity != nil && spec.Affinity == nil {
			spec.Affinity = so.Affinity.DeepCopy()
		}
		if so.Tolerations != nil && spec.Tolerations == nil {
			for _, t := range so.Tolerations {
				spec.Tolerations = append(spec.Tolerations, *t.DeepCopy())
			}
		}
	}
}
