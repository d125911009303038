// Package mounttest checks, with no control plane, that each deployed component refuses to start
// without a file deploy/ mounts and says which Secret or ConfigMap to create.
package mounttest_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/prowl-ci/prowl/deploy"
	"github.com/prowl-ci/prowl/internal/cli"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// documentedFlags are the optional flags docs/deploy.md tells a user to add to a Deployment,
// whose files the Deployment already mounts from optional Secrets.
var documentedFlags = map[string][]string{
	"deck":  {"--github-oauth-config-file=/etc/github-oauth/secret", "--cookie-secret=/etc/cookie/secret"},
	"plank": {"--gcs-credentials-file=/etc/gcs-credentials/service-account.json"},
}

// githubApp is the GitHub App form of a component's GitHub flags (docs/deploy.md, step 3).
var githubApp = []string{"--github-app-id=1", "--github-app-private-key-path=/etc/github/cert"}

// TestMissingMountedFile runs each deployed component through prowl's real command line with its
// Deployment's own arguments (plus the optional ones docs/deploy.md documents), every mounted path
// moved under a temporary root, and one mounted file missing at a time: the component exits
// non-zero before starting anything, naming the flag, the path, the Secret or ConfigMap the
// Deployment mounts there and the kubectl command that creates it. With every file present, the
// check passes.
func TestMissingMountedFile(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"base", "overlays/separate-build-cluster/service"} {
		objs, err := deploy.Kustomize(filepath.Join(testutil.RepoRoot(), "deploy", name))
		if err != nil {
			t.Fatal(err)
		}
		ds, err := deploy.Deployments(objs)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			c := d.Spec.Template.Spec.Containers[0]
			variants := map[string][]string{"": append(slices.Clone(c.Args), documentedFlags[d.Name]...)}
			if i := slices.IndexFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--github-token-path=") }); i >= 0 {
				variants[" (GitHub App)"] = slices.Concat(c.Args[:i], c.Args[i+1:], githubApp)
			}
			for variant, args := range variants {
				t.Run(name+"/"+d.Name+variant, func(t *testing.T) {
					t.Parallel()
					checkMissingMounts(t, d, args)
				})
			}
		}
	}
}

// mountedArg is a flag whose value is a path on one of the container's volumes.
type mountedArg struct {
	index       int
	flag, value string
	mount       corev1.VolumeMount
	volume      corev1.Volume
}

func checkMissingMounts(t *testing.T, d appsv1.Deployment, args []string) {
	c := d.Spec.Template.Spec.Containers[0]
	mounted := mountedArgs(t, d, args)
	if len(mounted) == 0 {
		t.Fatalf("%s: no argument names a mounted file", d.Name)
	}
	for _, missing := range mounted {
		root := t.TempDir()
		moved := slices.Clone(args)
		for _, m := range mounted {
			moved[m.index] = m.flag + "=" + root + m.value
			if m.index != missing.index {
				materialize(t, root+m.value, m.value == m.mount.MountPath)
			}
		}
		if missing.index == mounted[0].index {
			checkAllPresent(t, moved, missing)
		}
		var stdout, stderr strings.Builder
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		code := cli.Execute(ctx, moved, &stdout, &stderr)
		cancel()
		if code == cli.ExitOK || stdout.Len() != 0 {
			t.Fatalf("%s without %s: exit %d, stdout %q: want a non-zero exit before anything starts", c.Name, missing.flag, code, stdout.String())
		}
		for _, want := range wantedExplanation(missing, root) {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("%s without %s: the error lacks %q:\n%s", c.Name, missing.flag, want, stderr.String())
			}
		}
	}
}

// checkAllPresent puts back the file missing leaves out and checks the component accepts the set.
func checkAllPresent(t *testing.T, moved []string, missing mountedArg) {
	t.Helper()
	_, path, _ := strings.Cut(moved[missing.index], "=")
	materialize(t, path, missing.value == missing.mount.MountPath)
	defer os.RemoveAll(path)
	root := cli.NewRootCommand(&strings.Builder{}, &strings.Builder{})
	cmd, rest, err := root.Find(moved)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatal(err)
	}
	if err := cli.CheckMountedFiles(cmd); err != nil {
		t.Errorf("with every mounted file present: %v", err)
	}
}

// wantedExplanation is what the error for missing must say: the flag, the path, the object the
// Deployment mounts there, and the command that creates it with the key the flag reads.
func wantedExplanation(missing mountedArg, root string) []string {
	want := []string{"--" + strings.TrimPrefix(missing.flag, "--") + ":", root + missing.value}
	key := strings.TrimPrefix(strings.TrimPrefix(missing.value, missing.mount.MountPath), "/")
	if s := missing.volume.Secret; s != nil {
		return append(want, "Secret "+s.SecretName, "kubectl -n prow create secret generic "+s.SecretName+" --from-file="+key+"=")
	}
	cm := missing.volume.ConfigMap.Name
	if key == "" {
		return append(want, "ConfigMap "+cm, "kubectl -n prow create configmap "+cm+" --from-file=")
	}
	return append(want, "ConfigMap "+cm, "kubectl -n prow create configmap "+cm+" --from-file="+key+"=")
}

// mountedArgs are the --flag=value arguments whose value is on a Secret or ConfigMap volume.
func mountedArgs(t *testing.T, d appsv1.Deployment, args []string) []mountedArg {
	t.Helper()
	c := d.Spec.Template.Spec.Containers[0]
	var out []mountedArg
	for i, a := range args {
		flag, value, ok := strings.Cut(a, "=")
		if !ok || !strings.HasPrefix(value, "/") {
			continue
		}
		for _, m := range c.VolumeMounts {
			if value != m.MountPath && !strings.HasPrefix(value, m.MountPath+"/") {
				continue
			}
			vi := slices.IndexFunc(d.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
			if vi < 0 {
				t.Fatalf("%s: volume %s is mounted but not declared", d.Name, m.Name)
			}
			v := d.Spec.Template.Spec.Volumes[vi]
			if v.EmptyDir != nil {
				continue // a directory the component writes (Hook's spool), not a file it is given
			}
			if v.Secret == nil && v.ConfigMap == nil {
				t.Fatalf("%s: %s is on volume %s, neither a Secret nor a ConfigMap", d.Name, a, m.Name)
			}
			if v.Secret != nil && (v.Secret.Optional == nil || !*v.Secret.Optional) || v.ConfigMap != nil && (v.ConfigMap.Optional == nil || !*v.ConfigMap.Optional) {
				t.Errorf("%s: volume %s is not optional: a missing object would hold the Pod in ContainerCreating instead of letting prowl say what is missing", d.Name, m.Name)
			}
			out = append(out, mountedArg{index: i, flag: flag, value: value, mount: m, volume: v})
		}
	}
	return out
}

// materialize writes a file (or a directory) at path with its parents.
func materialize(t *testing.T, path string, dir bool) {
	t.Helper()
	if dir {
		if err := os.MkdirAll(path, 0o755); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("present\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}
