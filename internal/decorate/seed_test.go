package decorate

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// TestSeedPod decorates the seed's ProwJob (named as the seed's Pod, with its build ID) and
// compares the Pod with the seed's. The differences allowed are named, each with its reason.
func TestSeedPod(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(testutil.Seed("prowjob.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pj := &prowv1.ProwJob{}
	if err := yaml.UnmarshalStrict(raw, pj); err != nil {
		t.Fatal(err)
	}
	pj.Name = "a8284764-7cff-11e9-ba39-921b53acd1f4"
	pj.Labels[prowv1.IDLabel] = pj.Name
	pod, err := Pod(pj, "1131381475451604992")
	if err != nil {
		t.Fatal(err)
	}
	got := toGeneric(t, pod)
	seed, err := os.ReadFile(testutil.Seed("pod.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := yaml.Unmarshal(seed, &want); err != nil {
		t.Fatal(err)
	}
	for _, m := range []map[string]any{want, got} {
		normalizeSeedPod(t, m)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Pod differs from the seed's beyond the allowed differences (-seed +prowl):\n%s", diff)
	}
}

func toGeneric(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// normalizeSeedPod removes from a Pod what may differ from the seed's:
//   - what the API server and kubelet fill in: creationTimestamp, resourceVersion, selfLink, uid,
//     nodeName, priority, schedulerName, dnsPolicy, serviceAccount(Name), tolerations,
//     imagePullPolicy, terminationMessagePath, the secret volume's defaultMode (420);
//   - where the seed's Prow, of 2019, differs from current Prow: place-entrypoint ran /bin/cp
//     (now the entrypoint's --copy-mode-only); JOB_SPEC lacked decoration_config; no CI=true env;
//     no prow.k8s.io/build-id label; no terminationMessagePolicy (FallbackToLogsOnError now) nor
//     terminationGracePeriodSeconds from grace_period (the API server's 30 then); the options JSON
//     had "extensions" and lacked "container_name" and "censoring_options";
//   - apiVersion and kind, which the seed's YAML shows and a Go object leaves to its client.
func normalizeSeedPod(t *testing.T, pod map[string]any) {
	t.Helper()
	delete(pod, "apiVersion")
	delete(pod, "kind")
	delete(pod, "status")
	meta := pod["metadata"].(map[string]any)
	for _, k := range []string{"creationTimestamp", "resourceVersion", "selfLink", "uid"} {
		delete(meta, k)
	}
	delete(meta["labels"].(map[string]any), prowv1.BuildIDLabel)
	spec := pod["spec"].(map[string]any)
	for _, k := range []string{"nodeName", "priority", "schedulerName", "dnsPolicy", "serviceAccount", "serviceAccountName", "tolerations", "terminationGracePeriodSeconds"} {
		delete(spec, k)
	}
	for _, v := range spec["volumes"].([]any) {
		if secret, ok := v.(map[string]any)["secret"].(map[string]any); ok {
			delete(secret, "defaultMode")
		}
	}
	for _, key := range []string{"initContainers", "containers"} {
		for _, c := range spec[key].([]any) {
			c := c.(map[string]any)
			for _, k := range []string{"imagePullPolicy", "terminationMessagePath", "terminationMessagePolicy"} {
				delete(c, k)
			}
			if c["name"] == PlaceEntrypointName {
				delete(c, "command")
				delete(c, "args")
			}
			var env []any
			envList, _ := c["env"].([]any)
			for _, e := range envList {
				e := e.(map[string]any)
				switch e["name"] {
				case "CI":
					continue
				case "JOB_SPEC":
					e["value"] = rewriteJSON(t, e["value"].(string), func(m map[string]any) { delete(m, "decoration_config") })
				case "ENTRYPOINT_OPTIONS", "SIDECAR_OPTIONS", "INITUPLOAD_OPTIONS":
					e["value"] = rewriteJSON(t, e["value"].(string), dropVersionedOptionKeys)
				}
				env = append(env, e)
			}
			if env != nil {
				c["env"] = env
			}
		}
	}
}

func dropVersionedOptionKeys(m map[string]any) {
	delete(m, "extensions")
	delete(m, "container_name")
	delete(m, "censoring_options")
	if gcs, ok := m["gcs_options"].(map[string]any); ok {
		dropVersionedOptionKeys(gcs)
	}
	if entries, ok := m["entries"].([]any); ok {
		for _, e := range entries {
			dropVersionedOptionKeys(e.(map[string]any))
		}
	}
}

// rewriteJSON decodes an options value, edits it, and encodes it again (keys sorted), so that the
// comparison is of content, not of key order.
func rewriteJSON(t *testing.T, s string, edit func(map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
