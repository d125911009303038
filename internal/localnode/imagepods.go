package localnode

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/prowl-ci/prowl/internal/localnode/containerinit"
)

// LocalUtilityPrefix starts the image names of Prowl's pod utilities built beside prowl (the
// examples' utility_images): a container of such an image runs that binary on this machine's
// filesystem instead of pulling anything.
const LocalUtilityPrefix = "prowl.local/"

// The kubelet's image pull back-off: 10 s doubling to 5 minutes.
const (
	pullBackoffInitial = 10 * time.Second
	pullBackoffMax     = 5 * time.Minute
)

// onHost says whether c runs on this machine's filesystem rather than in its image.
func (n *Node) onHost(c corev1.Container) bool {
	return n.HostFilesystem || strings.HasPrefix(c.Image, LocalUtilityPrefix)
}

// ImageDir is where the node keeps pulled images: Images.Dir, by default DataDir/images.
func (n *Node) ImageDir() string { return n.images().Dir }

func (n *Node) images() *Images {
	n.imagesOnce.Do(func() {
		if n.Images == nil {
			n.Images = &Images{Dir: filepath.Join(n.DataDir, "images"), Clock: n.clk()}
		}
	})
	return n.Images
}

// pullImages makes the image of every container that runs in one present, writing the Pod's
// container statuses as the kubelet does meanwhile: Waiting in ContainerCreating, then
// ErrImagePull (or ErrImageNeverPull) with the reason, then ImagePullBackOff until the next try.
// With an API server it tries again with the kubelet's back-off until the Pod ends (Plank's
// pending timeout deletes it); with none (prowl run) the first failure is returned. The images
// are in use until release.
func (n *Node) pullImages(ctx context.Context, pod *corev1.Pod) (map[string]*Image, func(), error) {
	got := map[string]*Image{}
	release := func() {
		for _, img := range got {
			n.images().Release(img)
		}
	}
	kc, err := n.keychain(ctx, pod)
	if err != nil {
		return nil, release, err
	}
	all := append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
	backoff := pullBackoffInitial
	for _, c := range all {
		if n.onHost(c) {
			continue
		}
		for got[c.Name] == nil {
			img, err := n.images().Pull(ctx, c.Image, c.ImagePullPolicy, kc)
			if err == nil {
				got[c.Name] = img
				continue
			}
			pe, ok := isPullError(err)
			if !ok || n.Client == nil || ctx.Err() != nil {
				return nil, release, err
			}
			ctrl.LoggerFrom(ctx).Info("image pull failed", "pod", pod.Name, "container", c.Name, "image", c.Image, "reason", pe.Reason, "message", pe.Message, "retryIn", backoff)
			n.setWaiting(ctx, pod, c.Name, pe.Reason, pe.Message)
			if !n.waitClock(ctx, backoff/2) {
				return nil, release, ctx.Err()
			}
			if pe.Reason == "ErrImagePull" {
				n.setWaiting(ctx, pod, c.Name, "ImagePullBackOff", fmt.Sprintf("Back-off pulling image %q: %s", c.Image, pe.Message))
			}
			if !n.waitClock(ctx, backoff-backoff/2) {
				return nil, release, ctx.Err()
			}
			backoff = min(2*backoff, pullBackoffMax)
		}
	}
	return got, release, nil
}

// waitClock waits d on the node's clock; false when ctx ended first.
func (n *Node) waitClock(ctx context.Context, d time.Duration) bool {
	select {
	case <-n.clk().After(d):
		return true
	case <-ctx.Done():
		return false
	}
}

// setWaiting writes every container as Waiting in ContainerCreating, and the one named in
// reason, with message.
func (n *Node) setWaiting(ctx context.Context, pod *corev1.Pod, name, reason, message string) {
	waiting := func(cs []corev1.Container) []corev1.ContainerStatus {
		out := make([]corev1.ContainerStatus, len(cs))
		for i, c := range cs {
			w := &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
			if c.Name == name {
				w = &corev1.ContainerStateWaiting{Reason: reason, Message: message}
			}
			out[i] = corev1.ContainerStatus{Name: c.Name, Image: c.Image, State: corev1.ContainerState{Waiting: w}}
		}
		return out
	}
	n.setStatus(ctx, pod, func(s *corev1.PodStatus) {
		s.InitContainerStatuses, s.ContainerStatuses = waiting(pod.Spec.InitContainers), waiting(pod.Spec.Containers)
	})
}

// rootFor prepares a container's root in its image: a writable layer over the image's layers
// (or, where overlayfs cannot mount, a copy of them), /etc/hosts, /etc/resolv.conf and
// /etc/hostname as mounts, and its identity. It returns the launch's root and extra mounts.
func (n *Node) rootFor(ctx context.Context, pod *corev1.Pod, c corev1.Container, img *Image, dir string) (*containerinit.Root, []containerinit.Mount, identity, error) {
	im := n.images()
	var top []string // layer directories, topmost first
	r := &containerinit.Root{LayerDir: filepath.Join(im.Dir, "layers"), Hostname: pod.Name}
	for i := len(img.Layers) - 1; i >= 0; i-- {
		r.Lower = append(r.Lower, img.Layers[i])
		top = append(top, im.layerDir(img.Layers[i]))
	}
	id, err := containerIdentity(pod, c, img.Config, top)
	if err != nil {
		return nil, nil, id, err
	}
	r.UID, r.GID, r.Groups = id.uid, id.gid, id.groups
	base := filepath.Join(dir, "containers", c.Name)
	r.Upper, r.Work, r.Merged = filepath.Join(base, "upper"), filepath.Join(base, "work"), filepath.Join(base, "merged")
	_ = os.RemoveAll(base) // a restarted container starts from its image again
	for _, d := range []string{r.Upper, r.Work, r.Merged} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, nil, id, err
		}
	}
	if !n.overlayWorks(ctx) {
		r.Copy = true
		if err := flatten(top, r.Merged); err != nil {
			return nil, nil, id, fmt.Errorf("copy the image: %w", err)
		}
	}
	mounts, err := etcFiles(pod, c, dir)
	return r, mounts, id, err
}

// etcFiles writes the Pod's /etc/hosts, /etc/resolv.conf (the host's: the Pod shares its network)
// and /etc/hostname, and mounts each where the container mounts nothing of its own.
func etcFiles(pod *corev1.Pod, c corev1.Container, dir string) ([]containerinit.Mount, error) {
	etc := filepath.Join(dir, "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		return nil, err
	}
	resolv, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		resolv = nil
	}
	files := map[string][]byte{
		"hosts":       fmt.Appendf(nil, "# Kubernetes-managed hosts file (Prowl's local node).\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t%s\n", pod.Name),
		"resolv.conf": resolv,
		"hostname":    []byte(pod.Name + "\n"),
	}
	taken := map[string]bool{}
	for _, m := range c.VolumeMounts {
		taken[filepath.Clean(m.MountPath)] = true
	}
	var out []containerinit.Mount
	for _, name := range []string{"hosts", "resolv.conf", "hostname"} {
		p := filepath.Join(etc, name)
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return nil, err
		}
		if !taken["/etc/"+name] {
			out = append(out, containerinit.Mount{Source: p, Target: "/etc/" + name})
		}
	}
	return out, nil
}

// overlayWorks says, once per node, whether this kernel mounts overlayfs over the layer cache.
func (n *Node) overlayWorks(ctx context.Context) bool {
	n.overlayOnce.Do(func() {
		dir, err := os.MkdirTemp(n.images().Dir, "overlay-probe-")
		if err != nil {
			return
		}
		defer os.RemoveAll(dir)
		for _, d := range []string{"l", "u", "w", "m"} {
			_ = os.Mkdir(filepath.Join(dir, d), 0o755)
		}
		opts := fmt.Sprintf("lowerdir=%s/l,upperdir=%s/u,workdir=%s/w", dir, dir, dir)
		if err := syscall.Mount("overlay", filepath.Join(dir, "m"), "overlay", 0, opts); err != nil {
			ctrl.LoggerFrom(ctx).Info("overlayfs does not mount here: each container gets a copy of its image", "error", err.Error())
			return
		}
		_ = syscall.Unmount(filepath.Join(dir, "m"), syscall.MNT_DETACH)
		n.overlay = true
	})
	return n.overlay
}

// removeLayers removes the Pod's containers' writable layers.
func (n *Node) removeLayers(uid string) {
	_ = os.RemoveAll(filepath.Join(n.DataDir, "pods", uid, "containers"))
}

// failPull ends a Pod whose image could not be had: at once under prowl run (no one else will
// end it), or when its pull ended because the Pod did (deleted, or past its deadline).
func (n *Node) failPull(ctx context.Context, pod *corev1.Pod, err error) {
	reason := "ErrImagePull"
	if pe, ok := isPullError(err); ok {
		reason = pe.Reason
	}
	ctrl.LoggerFrom(ctx).Info("the Pod's images are not there", "pod", pod.Name, "reason", reason, "message", err.Error())
	n.setStatus(context.WithoutCancel(ctx), pod, func(s *corev1.PodStatus) {
		s.Phase, s.Reason, s.Message = corev1.PodFailed, reason, err.Error()
	})
}
