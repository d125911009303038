package localnode

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
)

// imageNode is a Node that runs containers in their images, with a layer cache of the test's own.
func imageNode(t *testing.T) *Node {
	t.Helper()
	n := node(t)
	n.HostFilesystem = false
	return n
}

// logLines is a logger that keeps each line's message and values.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, args)
	}, funcr.Options{Verbosity: 1})
}

func (l *logLines) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, substr) {
			n++
		}
	}
	return n
}

// runInImage runs one test container of image through RunOnce and returns its phase and output.
func runInImage(t *testing.T, n *Node, ctx context.Context, c corev1.Container, mutate ...func(*corev1.Pod)) (corev1.PodPhase, string) {
	t.Helper()
	var out strings.Builder
	n.Stream = &out
	c.Name = "test"
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "img-" + filepath.Base(t.TempDir())}, Spec: corev1.PodSpec{Containers: []corev1.Container{c}}}
	for _, m := range mutate {
		m(pod)
	}
	phase := n.RunOnce(ctx, pod)
	return phase, out.String()
}

// TestImageRunsItsOwnCommand: a command that exists only in the image runs, and the build log is
// its output.
func TestImageRunsItsOwnCommand(t *testing.T) {
	t.Parallel()
	ref := push(t, testRegistry(t), "busybox:1", busyboxImage(t))
	if _, err := os.Stat("/usr/local/bin/only-in-image"); err == nil {
		t.Fatal("the host has the image's command; the test would prove nothing")
	}
	phase, out := runInImage(t, imageNode(t), context.Background(), corev1.Container{Image: ref, Command: []string{"only-in-image"}})
	if phase != corev1.PodSucceeded || out != "only in the image\n" {
		t.Errorf("phase %s, output %q; want Succeeded, %q", phase, out, "only in the image\n")
	}
}

// TestImageConfigMergesAsKubernetes: the image's Entrypoint, Cmd, Env and WorkingDir apply, and
// the container's command, args, env and workingDir override them where Kubernetes says so.
func TestImageConfigMergesAsKubernetes(t *testing.T) {
	t.Parallel()
	ref := push(t, testRegistry(t), "busybox:1", busyboxImage(t))
	for _, tc := range []struct {
		name string
		c    corev1.Container
		want string
	}{
		{"image entrypoint and cmd", corev1.Container{}, "default command\n"},
		{"args replace cmd", corev1.Container{Args: []string{`echo "$IMAGE_VAR $OVERRIDE $(pwd)"`},
			Env: []corev1.EnvVar{{Name: "OVERRIDE", Value: "container"}}}, "from-image container /work\n"},
		{"command drops cmd, workingDir replaces the image's", corev1.Container{Command: []string{"sh", "-c", "pwd; echo $HOSTNAME"}, WorkingDir: "/tmp"}, "/tmp\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.c.Image = ref
			phase, out := runInImage(t, imageNode(t), context.Background(), tc.c)
			if phase != corev1.PodSucceeded || !strings.HasPrefix(out, tc.want) {
				t.Errorf("phase %s, output %q; want Succeeded, %q", phase, out, tc.want)
			}
		})
	}
}

// TestImageFilesystemIsTheContainers: writes outside volumes stay in the container's writable
// layer, which goes with the Pod; the whiteout's file is absent and the opaque directory hides
// what the layer below put there.
func TestImageFilesystemIsTheContainers(t *testing.T) {
	t.Parallel()
	ref := push(t, testRegistry(t), "busybox:1", busyboxImage(t))
	for _, overlay := range []bool{true, false} {
		t.Run(fmt.Sprintf("overlayfs=%v", overlay), func(t *testing.T) {
			t.Parallel()
			outside := "/prowl-image-test-" + filepath.Base(t.TempDir())
			n := imageNode(t)
			if !overlay {
				n.overlayOnce.Do(func() {}) // as on a kernel without overlayfs: a copy per container
			}
			phase, out := runInImage(t, n, context.Background(), corev1.Container{Image: ref,
				Command: []string{"sh", "-c", "echo written > " + outside + " && cat " + outside + " && ls /data /opq"}})
			if want := "written\n/data:\nkept.txt\n\n/opq:\nnew.txt\n"; phase != corev1.PodSucceeded || out != want {
				t.Errorf("phase %s, output %q; want Succeeded, %q", phase, out, want)
			}
			if _, err := os.Stat(outside); !os.IsNotExist(err) {
				t.Errorf("the container's file is on the host at %s (stat: %v)", outside, err)
			}
			if layers, _ := filepath.Glob(filepath.Join(n.DataDir, "pods", "*", "containers", "*")); len(layers) != 0 {
				t.Errorf("writable layers left after the Pod: %v", layers)
			}
		})
	}
}

// TestImageRunAsUser: securityContext's runAsUser and runAsGroup are the process's uid and gid.
func TestImageRunAsUser(t *testing.T) {
	t.Parallel()
	ref := push(t, testRegistry(t), "busybox:1", busyboxImage(t))
	uid, gid := int64(1234), int64(2345)
	phase, out := runInImage(t, imageNode(t), context.Background(), corev1.Container{Image: ref, Command: []string{"sh", "-c", "id -u; id -g"},
		SecurityContext: &corev1.SecurityContext{RunAsUser: &uid, RunAsGroup: &gid}})
	if phase != corev1.PodSucceeded || out != "1234\n2345\n" {
		t.Errorf("phase %s, output %q; want Succeeded, uid 1234 and gid 2345", phase, out)
	}
}

// TestImageUnpackedOnce: two Pods of one image at once, on nodes sharing a layer cache, unpack
// each of its two layers once.
func TestImageUnpackedOnce(t *testing.T) {
	t.Parallel()
	ref := push(t, testRegistry(t), "busybox:1", busyboxImage(t))
	var logs logLines
	ctx := ctrl.LoggerInto(context.Background(), logs.logger())
	images := &Images{Dir: t.TempDir()}
	var wg sync.WaitGroup
	for i := range 2 {
		n := imageNode(t)
		n.Images = images
		wg.Add(1)
		go func() {
			defer wg.Done()
			if phase, out := runInImage(t, n, ctx, corev1.Container{Image: ref, Command: []string{"cat", "/data/kept.txt"}}); phase != corev1.PodSucceeded || out != "kept\n" {
				t.Errorf("pod %d: phase %s, output %q", i, phase, out)
			}
		}()
	}
	wg.Wait()
	if got := logs.count(`"unpacked layer"`); got != 2 {
		t.Errorf("%d layer unpacks for two Pods of a two-layer image; want 2", got)
	}
}

// TestImagePullPolicyNever: with policy Never and no cached image the Pod fails at once with
// ErrImageNeverPull, and nothing is asked of the registry.
func TestImagePullPolicyNever(t *testing.T) {
	t.Parallel()
	var logs logLines
	ctx := ctrl.LoggerInto(context.Background(), logs.logger())
	phase, _ := runInImage(t, imageNode(t), ctx, corev1.Container{Image: "127.0.0.1:1/nowhere:1", ImagePullPolicy: corev1.PullNever, Command: []string{"true"}})
	if phase != corev1.PodFailed {
		t.Errorf("phase %s; want Failed", phase)
	}
	if logs.count("ErrImageNeverPull") == 0 || logs.count(`is not present with pull policy of Never`) == 0 {
		t.Errorf("no ErrImageNeverPull in the node's log:\n%s", strings.Join(logs.lines, "\n"))
	}
}

func TestDefaultPullPolicy(t *testing.T) {
	t.Parallel()
	for image, want := range map[string]corev1.PullPolicy{
		"alpine": corev1.PullAlways, "alpine:latest": corev1.PullAlways, "alpine:3.20": corev1.PullIfNotPresent,
		"registry.k8s.io/pause@sha256:" + strings.Repeat("a", 64): corev1.PullIfNotPresent,
	} {
		if got := DefaultPullPolicy(image); got != want {
			t.Errorf("%s: %s, want %s", image, got, want)
		}
	}
}

// TestPrivateImagePull: a private image pulls with a kubernetes.io/dockerconfigjson secret's
// credentials and fails without them, with ErrImagePull and the registry's reason.
func TestPrivateImagePull(t *testing.T) {
	t.Parallel()
	host := testRegistry(t)
	ref := push(t, host, "private/busybox:1", busyboxImage(t))
	auth := base64.StdEncoding.EncodeToString([]byte(privateUser + ":" + privatePassword))
	secret := dockerConfigKeychain{}
	if err := secret.add([]byte(`{"auths":{"http://` + host + `/v2/":{"auth":"` + auth + `"}}}`)); err != nil {
		t.Fatal(err)
	}
	im := &Images{Dir: t.TempDir()}
	_, err := im.Pull(context.Background(), ref, corev1.PullIfNotPresent, authn.NewMultiKeychain(dockerConfigKeychain{}))
	pe, ok := isPullError(err)
	if !ok || pe.Reason != "ErrImagePull" || !strings.Contains(pe.Message, "UNAUTHORIZED") || !strings.Contains(pe.Message, ref) {
		t.Errorf("pull without credentials: %v; want ErrImagePull naming the image and the registry's UNAUTHORIZED", err)
	}
	img, err := im.Pull(context.Background(), ref, corev1.PullIfNotPresent, secret)
	if err != nil {
		t.Fatalf("pull with the secret's credentials: %v", err)
	}
	if len(img.Layers) != 2 || img.Config.WorkingDir != "/work" {
		t.Errorf("pulled %+v", img)
	}
}

// TestImageFSGroup: with the Pod's fsGroup, a container running as a user of no other standing
// writes into an emptyDir, which belongs to the group with the setgid bit, so the file it makes
// does too, and the group is among the process's groups; without fsGroup the write is refused.
func TestImageFSGroup(t *testing.T) {
	t.Parallel()
	ref := push(t, testRegistry(t), "busybox:1", busyboxImage(t))
	uid, fsGroup := int64(1000), int64(2000)
	script := "touch /scratch/made && stat -c '%g %A' /scratch /scratch/made && id -G"
	withScratch := func(fsGroup *int64) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: &uid, FSGroup: fsGroup}
			p.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}}
		}
	}
	c := corev1.Container{Image: ref, Command: []string{"sh", "-c", script}}
	phase, out := runInImage(t, imageNode(t), context.Background(), c, withScratch(&fsGroup))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if phase != corev1.PodSucceeded || len(lines) != 3 {
		t.Fatalf("phase %s, output %q; want Succeeded and three lines", phase, out)
	}
	if dir := lines[0]; !strings.HasPrefix(dir, "2000 d") || dir[len(dir)-4] != 's' || dir[len(dir)-5] != 'w' {
		t.Errorf("the emptyDir is %q; want group 2000, group-writable, setgid (drwxrwsr-x)", dir)
	}
	if file := lines[1]; !strings.HasPrefix(file, "2000 ") {
		t.Errorf("the file the container made is %q; want group 2000, from the directory's setgid bit", file)
	}
	if groups := strings.Fields(lines[2]); !slices.Contains(groups, "2000") {
		t.Errorf("the process's groups are %v; want fsGroup 2000 among them", groups)
	}

	if phase, out := runInImage(t, imageNode(t), context.Background(), c, withScratch(nil)); phase != corev1.PodFailed {
		t.Errorf("without fsGroup: phase %s, output %q; want Failed (uid 1000 may not write the emptyDir), else the test proves nothing", phase, out)
	}
}
