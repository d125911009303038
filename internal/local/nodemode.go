package local

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/localnode"
)

// NodeOptions say how the local node runs containers, for `prowl up` and `prowl run`.
type NodeOptions struct {
	// HostFilesystem runs every container on this machine's filesystem, ignoring image:. Nil
	// chooses: on for a config whose default decoration names Prowl's local utility images
	// (prowl.local/..., as the embedded examples do: a config written for this machine, which
	// may name images no registry here serves), off otherwise.
	HostFilesystem *bool
	// ImageDir is the layer cache (the data dir's images/ for prowl up; the user's cache dir
	// for prowl run, so that runs share it).
	ImageDir string
}

// hostFilesystem is the choice for config c, and why, for the start-up line.
func (o NodeOptions) hostFilesystem(c *config.Config) (bool, string) {
	if o.HostFilesystem != nil {
		return *o.HostFilesystem, "--host-filesystem=" + fmt.Sprint(*o.HostFilesystem)
	}
	for _, e := range c.Plank.DefaultDecorationConfigEntries {
		if e.Config != nil && e.Config.UtilityImages != nil && strings.HasPrefix(e.Config.UtilityImages.Entrypoint, localnode.LocalUtilityPrefix) {
			return true, "the config's utility_images are Prowl's local ones (" + localnode.LocalUtilityPrefix + "...); --host-filesystem=false runs each container in its image"
		}
	}
	return false, "the default; --host-filesystem runs them on this machine's filesystem instead"
}

// apply sets the node's mode and image cache for config c and says which it is on w.
func (o NodeOptions) apply(n *localnode.Node, c *config.Config, w io.Writer) {
	host, why := o.hostFilesystem(c)
	n.HostFilesystem = host
	if o.ImageDir != "" {
		n.Images = &localnode.Images{Dir: o.ImageDir}
	}
	if host {
		fmt.Fprintf(w, "local node: containers run on this machine's filesystem; image: is not pulled (%s)\n", why)
		return
	}
	fmt.Fprintf(w, "local node: each container runs in its image, pulled into %s; the pod utilities of %s images run from the binaries beside prowl (%s)\n",
		n.ImageDir(), localnode.LocalUtilityPrefix, why)
}

// runImageDir is prowl run's layer cache: the user's cache dir, shared by every run.
func runImageDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "prowl", "images")
}

// pullPolicies maps prowl run's --image-pull to the kubelet's imagePullPolicy.
var pullPolicies = map[string]corev1.PullPolicy{"never": corev1.PullNever, "missing": corev1.PullIfNotPresent, "always": corev1.PullAlways}

// applyPull sets every container's imagePullPolicy from --image-pull (never, missing or always); empty
// keeps the job's own.
func applyPull(pod *corev1.Pod, pull string) error {
	if pull == "" {
		return nil
	}
	policy, ok := pullPolicies[pull]
	if !ok {
		return fmt.Errorf("--image-pull %q: use never, missing or always", pull)
	}
	for i := range pod.Spec.InitContainers {
		pod.Spec.InitContainers[i].ImagePullPolicy = policy
	}
	for i := range pod.Spec.Containers {
		pod.Spec.Containers[i].ImagePullPolicy = policy
	}
	return nil
}

// NodeName is the Node the local node registers as (`prowl up`'s and `prowl node`'s).
const NodeName = "prowl-local"

// AddNode adds the local node to mgr, for `prowl up` and `prowl node`: it registers as NodeName,
// binds the unscheduled Pods of c's pod_namespace and runs them on this machine, keeping their
// volumes, logs and pulled images under dataDir/node; it says on w how it runs containers. The
// pod utilities run from the binaries beside this one (prowl itself where they are absent).
func AddNode(mgr ctrl.Manager, c *config.Config, dataDir string, o NodeOptions, w io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	node := &localnode.Node{Name: NodeName, Namespace: c.PodNamespace, Client: mgr.GetClient(),
		DataDir: filepath.Join(dataDir, "node"), Utilities: filepath.Dir(self), Self: self}
	o.apply(node, c, w)
	return node.Setup(mgr)
}
