package localnode

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// volumes makes each of the Pod's volumes a directory under dir: emptyDirs empty, secrets and
// configMaps holding their keys as files, hostPaths as they are. In image mode, with the Pod's
// securityContext.fsGroup, the emptyDir, secret and configMap volumes belong to that group as
// the kubelet makes them (see fsGroupOwn).
func (n *Node) volumes(ctx context.Context, pod *corev1.Pod, dir string) (map[string]string, error) {
	out := map[string]string{}
	var fsGroup *int64
	if sc := pod.Spec.SecurityContext; sc != nil && !n.HostFilesystem {
		fsGroup = sc.FSGroup
	}
	for _, v := range pod.Spec.Volumes {
		path := filepath.Join(dir, "volumes", v.Name)
		if err := n.volume(ctx, pod, v, &path); err != nil {
			return nil, err
		}
		if fsGroup != nil && v.HostPath == nil {
			if err := fsGroupOwn(path, *fsGroup, v.EmptyDir == nil); err != nil {
				return nil, fmt.Errorf("volume %s: give it fsGroup %d: %w", v.Name, *fsGroup, err)
			}
		}
		out[v.Name] = path
	}
	return out, nil
}

// fsGroupOwn gives everything under path the group gid as the kubelet's SetVolumeOwnership does:
// files gain group read (and, unless readOnly, write), directories also group execute and the
// setgid bit, so what the containers make there belongs to the group too.
func fsGroupOwn(path string, gid int64, readOnly bool) error {
	return filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, -1, int(gid)); err != nil {
			return fmt.Errorf("chown %s: %w", p, err)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mask := os.FileMode(0o060)
		if readOnly {
			mask = 0o040
		}
		if d.IsDir() {
			mask |= os.ModeSetgid | 0o010
		}
		if err := os.Chmod(p, info.Mode()|mask); err != nil {
			return fmt.Errorf("chmod %s: %w", p, err)
		}
		return nil
	})
}

// volume makes one volume at *path, or for a hostPath, points *path at it.
func (n *Node) volume(ctx context.Context, pod *corev1.Pod, v corev1.Volume, path *string) error {
	switch {
	case v.EmptyDir != nil:
		if err := os.MkdirAll(*path, 0o777); err != nil {
			return err
		}
	case (v.Secret != nil || v.ConfigMap != nil) && n.Client == nil:
		return fmt.Errorf("volume %s: there is no cluster to read its secret or configMap from; run the job with prowl up", v.Name)
	case v.Secret != nil:
		secret := &corev1.Secret{}
		if err := n.Client.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: v.Secret.SecretName}, secret); err != nil {
			if v.Secret.Optional != nil && *v.Secret.Optional {
				secret.Data = nil
			} else {
				return fmt.Errorf("secret %s for volume %s: %w", v.Secret.SecretName, v.Name, err)
			}
		}
		mode := os.FileMode(0o644)
		if v.Secret.DefaultMode != nil {
			mode = os.FileMode(*v.Secret.DefaultMode)
		}
		if err := writeKeys(*path, secret.Data, v.Secret.Items, mode); err != nil {
			return err
		}
	case v.ConfigMap != nil:
		cm := &corev1.ConfigMap{}
		if err := n.Client.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: v.ConfigMap.Name}, cm); err != nil {
			return fmt.Errorf("configmap %s for volume %s: %w", v.ConfigMap.Name, v.Name, err)
		}
		data := map[string][]byte{}
		for k, s := range cm.Data {
			data[k] = []byte(s)
		}
		if err := writeKeys(*path, data, v.ConfigMap.Items, 0o644); err != nil {
			return err
		}
	case v.HostPath != nil:
		*path = v.HostPath.Path
	default:
		return fmt.Errorf("volume %s: the local node supports emptyDir, secret, configMap and hostPath volumes", v.Name)
	}
	return nil
}

func writeKeys(dir string, data map[string][]byte, items []corev1.KeyToPath, mode os.FileMode) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if len(items) == 0 {
		for k := range data {
			items = append(items, corev1.KeyToPath{Key: k, Path: k})
		}
	}
	for _, it := range items {
		p := filepath.Join(dir, strings.TrimPrefix(it.Path, "./"))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		m := mode
		if it.Mode != nil {
			m = os.FileMode(*it.Mode)
		}
		if err := os.WriteFile(p, data[it.Key], m); err != nil {
			return err
		}
	}
	return nil
}

// env is a container's own environment: values, and secret, configMap and field references.
func (n *Node) env(ctx context.Context, pod *corev1.Pod, c corev1.Container) ([]string, error) {
	var out []string
	for _, e := range c.Env {
		value := e.Value
		if src := e.ValueFrom; src != nil && n.Client == nil && (src.SecretKeyRef != nil || src.ConfigMapKeyRef != nil) {
			return nil, fmt.Errorf("env %s: there is no cluster to read its secret or configMap from; run the job with prowl up", e.Name)
		}
		if src := e.ValueFrom; src != nil {
			switch {
			case src.SecretKeyRef != nil:
				s := &corev1.Secret{}
				if err := n.Client.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: src.SecretKeyRef.Name}, s); err != nil {
					return nil, fmt.Errorf("env %s: %w", e.Name, err)
				}
				value = string(s.Data[src.SecretKeyRef.Key])
			case src.ConfigMapKeyRef != nil:
				cm := &corev1.ConfigMap{}
				if err := n.Client.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: src.ConfigMapKeyRef.Name}, cm); err != nil {
					return nil, fmt.Errorf("env %s: %w", e.Name, err)
				}
				value = cm.Data[src.ConfigMapKeyRef.Key]
			case src.FieldRef != nil:
				switch src.FieldRef.FieldPath {
				case "metadata.name":
					value = pod.Name
				case "metadata.namespace":
					value = pod.Namespace
				case "spec.nodeName":
					value = n.Name
				}
			}
		}
		out = append(out, e.Name+"="+value)
	}
	return out, nil
}

// hostEnv is env plus PATH and HOME from this machine where it sets none: the container runs on
// this machine's filesystem.
func hostEnv(env []string) []string {
	set := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	for _, k := range []string{"PATH", "HOME"} {
		if !set[k] {
			env = append(env, k+"="+os.Getenv(k))
		}
	}
	return env
}
