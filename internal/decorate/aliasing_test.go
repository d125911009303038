package decorate

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// richProwJob sets every decoration field that puts a slice, map or pointer in the Pod.
func richProwJob() *prowv1.ProwJob {
	yes, user, group := true, int64(1000), int64(2000)
	mem := resource.MustParse("1Gi")
	res := &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}, Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}
	sa, cookie, gcs, s3 := "builder", "cookies/c", "gcs-secret", "s3-secret"
	return &prowv1.ProwJob{
		ObjectMeta: metav1.ObjectMeta{Name: "pj", Labels: map[string]string{"a": "b"}, Annotations: map[string]string{"c": "d"}},
		Spec: prowv1.ProwJobSpec{
			Type: prowv1.PresubmitJob, Agent: prowv1.KubernetesAgent, Job: "pull-unit", Namespace: "test-pods",
			Refs:      &prowv1.Refs{Org: "o", Repo: "r", BaseRef: "main", BaseSHA: "abc", Pulls: []prowv1.Pull{{Number: 1, SHA: "def", Author: "a"}}},
			ExtraRefs: []prowv1.Refs{{Org: "o", Repo: "other", BaseRef: "main", WorkDir: true}},
			PodSpec: &corev1.PodSpec{Containers: []corev1.Container{{Image: "golang", Command: []string{"make"}, Args: []string{"test"},
				VolumeMounts: []corev1.VolumeMount{{Name: "s", MountPath: "/s"}}}},
				Volumes: []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}}}},
			DecorationConfig: &prowv1.DecorationConfig{
				Timeout: &prowv1.Duration{Duration: time.Hour}, GracePeriod: &prowv1.Duration{Duration: time.Minute},
				UtilityImages:        &prowv1.UtilityImages{CloneRefs: "c", InitUpload: "i", Entrypoint: "e", Sidecar: "s"},
				Resources:            &prowv1.Resources{CloneRefs: res, InitUpload: res, PlaceEntrypoint: res, Sidecar: res},
				GCSConfiguration:     &prowv1.GCSConfiguration{Bucket: "b", PathStrategy: "explicit", MediaTypes: map[string]string{"log": "text/plain"}},
				GCSCredentialsSecret: &gcs, S3CredentialsSecret: &s3, SSHKeySecrets: []string{"ssh"}, SSHHostFingerprints: []string{"fp"},
				CookiefileSecret: &cookie, CensorSecrets: &yes, DefaultServiceAccountName: &sa,
				OauthTokenSecret: &prowv1.OauthTokenSecret{Name: "oauth", Key: "token"},
				RunAsUser:        &user, RunAsGroup: &group, FsGroup: &group,
				DefaultMemoryRequest: &mem, SetLimitEqualsMemoryRequest: &yes,
				GitHubAPIEndpoints: []string{"https://api.github.com"},
				SchedulingOptions: &prowv1.SchedulingOptions{Tolerations: []corev1.Toleration{{Key: "k", TolerationSeconds: &user}},
					Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{}}},
			},
		},
	}
}

// TestPodsShareNothing: two Pods decorated from one ProwJob share no slice, map or pointer with
// each other or with the ProwJob, so that a caller changing one Pod (appending to a Command,
// setting a limit) changes nothing else.
func TestPodsShareNothing(t *testing.T) {
	t.Parallel()
	pj := richProwJob()
	first, err := Pod(pj, "1")
	if err != nil {
		t.Fatal(err)
	}
	second, err := Pod(pj, "2")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uintptr]string{}
	collect(reflect.ValueOf(pj), "prowjob", seen)
	collect(reflect.ValueOf(first), "first", seen)
	for where, path := range shared(reflect.ValueOf(second), "second", seen) {
		t.Errorf("%s shares memory with %s", path, where)
	}
}

// collect records the address of every slice's array, map and pointer under v.
func collect(v reflect.Value, path string, seen map[uintptr]string) {
	walk(v, path, func(addr uintptr, p string) {
		if _, ok := seen[addr]; !ok {
			seen[addr] = p
		}
	})
}

// shared lists the places under v whose memory is in seen, by what they share with.
func shared(v reflect.Value, path string, seen map[uintptr]string) map[string]string {
	out := map[string]string{}
	walk(v, path, func(addr uintptr, p string) {
		if other, ok := seen[addr]; ok {
			out[other] = p
		}
	})
	return out
}

func walk(v reflect.Value, path string, visit func(uintptr, string)) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		visit(v.Pointer(), path)
		walk(v.Elem(), path, visit)
	case reflect.Interface:
		if !v.IsNil() {
			walk(v.Elem(), path, visit)
		}
	case reflect.Slice:
		if v.Cap() == 0 {
			return
		}
		visit(v.Pointer(), path)
		for i := range v.Len() {
			walk(v.Index(i), path+"["+itoa(i)+"]", visit)
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		visit(v.Pointer(), path)
		for _, k := range v.MapKeys() {
			walk(v.MapIndex(k), path+"["+k.String()+"]", visit)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				walk(v.Field(i), path+"."+v.Type().Field(i).Name, visit)
			}
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
