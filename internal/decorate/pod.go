// Package decorate turns a ProwJob into the Pod that runs it: a pure function, with no clients.
// A decorated job's containers run through the entrypoint, and init containers and a sidecar clone
// the code and upload the log, the result and the artifacts, exactly as Prow lays them out.
package decorate

import (
	"fmt"
	"path"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/downwardapi"
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

// CloneRefsCommand and the three below are the commands the utility containers run. Prow's images
// start their utility through the image's entrypoint; Prowl names the binary, so that any image (or
// the local node's host filesystem) that has it at this path will do. Each call returns a fresh
// slice: a Pod's Command is its own, so that changing one Pod cannot change the next.
func CloneRefsCommand() []string { return []string{"/clonerefs"} }

// InitUploadCommand is initupload's command (see CloneRefsCommand).
func InitUploadCommand() []string { return []string{"/initupload"} }

// EntrypointCommand is the entrypoint's command (see CloneRefsCommand).
func EntrypointCommand() []string { return []string{"/entrypoint"} }

// SidecarCommand is the sidecar's command (see CloneRefsCommand).
func SidecarCommand() []string { return []string{"/sidecar"} }

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
	if len(pj.Spec.PodSpec.Containers) == 0 {
		// Decorated, it would still get a sidecar, and "succeed" having run no test.
		return nil, fmt.Errorf("prowjob %s: spec.pod_spec.containers is empty: give the job a container to run", pj.Name)
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

	cloner, refs, cloneVolumes, err := cloneRefsContainer(pj)
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

	entries, secretMounts, err := wrapTestContainers(spec, dc)
	if err != nil {
		return err
	}
	side, err := sidecarContainer(dc, upload, storageMounts, encodedJobSpec, secretMounts, entries)
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

// wrapTestContainers runs each test container through the entrypoint and returns what the
// sidecar needs of them: their wrapper options, and with censor_secrets every secret they mount
// (the sidecar mounts them too, to censor their values).
func wrapTestContainers(spec *corev1.PodSpec, dc *prowv1.DecorationConfig) ([]wrapper.Options, []corev1.VolumeMount, error) {
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
			return nil, nil, err
		}
		for _, m := range spec.Containers[i].VolumeMounts {
			if censor && secretVolumes[m.Name] {
				secretMounts = append(secretMounts, m)
			}
		}
		entries = append(entries, *w)
	}
	return entries, secretMounts, nil
}
