package decorate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/downwardapi"
	"github.com/prowl-ci/prowl/internal/testutil"
)

var utilityContainers = []string{CloneRefsName, InitUploadName, PlaceEntrypointName, SidecarName}

// dropUtilityCommands removes the one deliberate difference from Prow's Pods: Prowl names each
// utility's binary (command /clonerefs, /initupload, /entrypoint, /sidecar) where Prow relies on
// the image's entrypoint.
func dropUtilityCommands(spec *corev1.PodSpec) {
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range cs {
			if slices.Contains(utilityContainers, cs[i].Name) {
				cs[i].Command = nil
			}
		}
	}
}

// TestProwJobToPodFixtures rebuilds the ProwJob behind each Pod that Prow decorated (its JOB_SPEC,
// labels and annotations carry it; the job's own containers are the Pod's less what decoration
// adds) and checks that Prowl decorates it into the same Pod.
func TestProwJobToPodFixtures(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(testutil.SharedTestdata(t, "prow", "decorate"), "TestProwJobToPod_*.yaml"))
	if err != nil || len(files) != 11 {
		t.Fatalf("want 11 fixtures, got %d (%v)", len(files), err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want := &corev1.Pod{}
			if err := yaml.UnmarshalStrict(raw, want); err != nil {
				t.Fatal(err)
			}
			pj, buildID := rebuildProwJob(t, want)
			got, err := Pod(pj, buildID)
			if err != nil {
				t.Fatal(err)
			}
			got.TypeMeta = want.TypeMeta
			dropUtilityCommands(&got.Spec)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Pod differs from Prow's (-prow +prowl):\n%s", diff)
			}
		})
	}
}

func rebuildProwJob(t *testing.T, pod *corev1.Pod) (*prowv1.ProwJob, string) {
	t.Helper()
	var js downwardapi.JobSpec
	var env []corev1.EnvVar
	for _, c := range pod.Spec.Containers {
		env = append(env, c.Env...)
	}
	for _, e := range env {
		if e.Name == downwardapi.JobSpecEnv {
			if err := json.Unmarshal([]byte(e.Value), &js); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	pj := &prowv1.ProwJob{}
	pj.Name = js.ProwJobID
	pj.Spec = prowv1.ProwJobSpec{Type: js.Type, Job: js.Job, Refs: js.Refs, ExtraRefs: js.ExtraRefs, DecorationConfig: js.DecorationConfig}
	pj.Spec.Context = pod.Annotations[prowv1.ContextAnnotation]
	if slices.ContainsFunc(env, func(e corev1.EnvVar) bool { return e.Name == downwardapi.BuildNumEnv }) {
		pj.Spec.Agent = prowv1.KubernetesAgent
	}
	for k, v := range pod.Labels {
		if k != prowv1.CreatedByProw && !strings.HasPrefix(k, "prow.k8s.io/") {
			if pj.Labels == nil {
				pj.Labels = map[string]string{}
			}
			pj.Labels[k] = v
		}
	}
	for k, v := range pod.Annotations {
		if !strings.HasPrefix(k, "prow.k8s.io/") {
			if pj.Annotations == nil {
				pj.Annotations = map[string]string{}
			}
			pj.Annotations[k] = v
		}
	}
	rawEnv, err := js.Env()
	if err != nil {
		t.Fatal(err)
	}
	dc := js.DecorationConfig
	spec := pod.Spec.DeepCopy()
	spec.RestartPolicy = ""
	// What decoration adds to the job's own containers comes off again.
	added := map[string]bool{entrypointOptionsEnv: true, downwardapi.BuildNumEnv: true}
	for k := range rawEnv {
		added[k] = true
	}
	if dc != nil {
		added[artifactsEnv], added[gopathEnv] = true, true
	}
	var containers []corev1.Container
	for _, c := range spec.Containers {
		if c.Name == SidecarName {
			continue
		}
		c.Env = slices.DeleteFunc(c.Env, func(e corev1.EnvVar) bool { return added[e.Name] })
		if len(c.Env) == 0 {
			c.Env = nil
		}
		for _, e := range pod.Spec.Containers[len(containers)].Env {
			if e.Name == entrypointOptionsEnv {
				var opts struct {
					Args []string `json:"args"`
				}
				if err := json.Unmarshal([]byte(e.Value), &opts); err != nil {
					t.Fatal(err)
				}
				c.Command, c.Args = opts.Args, nil
			}
		}
		c.VolumeMounts = slices.DeleteFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
			return m.Name == LogMountName || m.Name == ToolsMountName || m.Name == CodeMountName
		})
		if len(c.VolumeMounts) == 0 {
			c.VolumeMounts = nil
		}
		if dc != nil {
			c.WorkingDir = ""
		}
		if c.TerminationMessagePolicy == corev1.TerminationMessageFallbackToLogsOnError {
			c.TerminationMessagePolicy = ""
		}
		containers = append(containers, c)
	}
	spec.Containers = containers
	spec.InitContainers = slices.DeleteFunc(spec.InitContainers, func(c corev1.Container) bool { return slices.Contains(utilityContainers, c.Name) })
	if len(spec.InitContainers) == 0 {
		spec.InitContainers = nil
	}
	if dc != nil {
		decorationVolumes := map[string]bool{LogMountName: true, ToolsMountName: true, CodeMountName: true, gcsCredentialsName: true, s3CredentialsName: true, "clonerefs-tmp": true, "cookiefile": true}
		for _, s := range dc.SSHKeySecrets {
			decorationVolumes["ssh-keys-"+s] = true
		}
		spec.Volumes = slices.DeleteFunc(spec.Volumes, func(v corev1.Volume) bool { return decorationVolumes[v.Name] })
		if len(spec.Volumes) == 0 {
			spec.Volumes = nil
		}
		if dc.GracePeriod != nil && spec.TerminationGracePeriodSeconds != nil && *spec.TerminationGracePeriodSeconds == int64(dc.GracePeriod.Seconds())*5/4 {
			spec.TerminationGracePeriodSeconds = nil
		}
		if dc.DefaultServiceAccountName != nil && spec.ServiceAccountName == *dc.DefaultServiceAccountName {
			spec.ServiceAccountName = ""
		}
	}
	if spec.AutomountServiceAccountToken != nil && !*spec.AutomountServiceAccountToken && spec.ServiceAccountName == "" {
		spec.AutomountServiceAccountToken = nil
	}
	pj.Spec.PodSpec = spec
	return pj, js.BuildID
}

const entrypointOptionsEnv = "ENTRYPOINT_OPTIONS"
