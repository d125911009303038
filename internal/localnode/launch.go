package localnode

import (
	"context"
	"errors"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"

	"github.com/prowl-ci/prowl/internal/localnode/containerinit"
)

// containerLaunch is what the helper needs to start c, and its environment: in img when it has
// one, else on this machine's filesystem. On failure it also names the kubelet's reason.
func (n *Node) containerLaunch(ctx context.Context, pod *corev1.Pod, c corev1.Container, img *Image, volumes map[string]string, dir string) (containerinit.Launch, []string, string, error) {
	env, err := n.env(ctx, pod, c)
	if err != nil {
		return containerinit.Launch{}, nil, "EnvError", err
	}
	l := containerinit.Launch{WorkDir: c.WorkingDir}
	for _, m := range c.VolumeMounts {
		src, ok := volumes[m.Name]
		if !ok {
			return containerinit.Launch{}, nil, "VolumeError", errors.New("no volume " + m.Name)
		}
		l.Mounts = append(l.Mounts, containerinit.Mount{Source: filepath.Join(src, m.SubPath), Target: m.MountPath, ReadOnly: m.ReadOnly})
	}
	if img == nil {
		l.Argv = n.hostArgv(c)
		if len(l.Argv) == 0 {
			return containerinit.Launch{}, nil, "NoCommand", errors.New("on this machine's filesystem (--host-filesystem) a container needs a command: its image is not pulled")
		}
		return l, hostEnv(env), "", nil
	}
	if l.Argv = imageArgv(c, img.Config); len(l.Argv) == 0 {
		return containerinit.Launch{}, nil, "CreateContainerError", errors.New("no command specified: neither the container nor its image " + c.Image + " names one")
	}
	if l.WorkDir == "" {
		l.WorkDir = img.Config.WorkingDir
	}
	root, etc, id, err := n.rootFor(ctx, pod, c, img, dir)
	if err != nil {
		return containerinit.Launch{}, nil, "CreateContainerConfigError", err
	}
	l.Root, l.Mounts = root, append(etc, l.Mounts...)
	return l, mergeEnv(img.Config.Env, env, id.home, pod.Name), "", nil
}

// hostArgv is c's command and args, the pod utilities' commands (/entrypoint, ...) pointed at
// the binaries built beside prowl, or at prowl itself, which carries them.
func (n *Node) hostArgv(c corev1.Container) []string {
	argv := append(append([]string{}, c.Command...), c.Args...)
	if len(argv) == 0 {
		return nil
	}
	if name := filepath.Base(argv[0]); argv[0] == "/"+name {
		if p := filepath.Join(n.Utilities, name); fileExists(p) {
			argv[0] = p // a pod utility, built from this repository
		} else if n.Self != "" && isPodUtility(name) {
			argv = append([]string{n.Self, name}, argv[1:]...) // prowl carries them: `prowl entrypoint ...`
		}
	}
	return argv
}
