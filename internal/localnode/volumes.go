package localnode

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// volumes makes each of the Pod's volumes a directory under dir: emptyDirs empty, secrets and
// configMaps holding their keys as files, hostPaths as they are.
func (n *Node) volumes(ctx context.Context, pod *corev1.Pod, dir string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		path := filepath.Join(dir, "volumes", v.Name)
		switch {
		case v.EmptyDir != nil:
			if err := os.MkdirAll(path, 0o777); err != nil {
				return nil, err
			}
		case (v.Secret != nil || v.ConfigMap != nil) && n.Client == nil:
			return nil, fmt.Errorf("volume %s: there is no cluster to read its secret or configMap from; run the job with prowl up", v.Name)
		case v.Secret != nil:
			secret := &corev1.Secret{}
			if err := n.Client.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: v.Secret.SecretName}, secret); err != nil {
				if v.Secret.Optional != nil && *v.Secret.Optional {
					secret.Data = nil
				} else {
					return nil, fmt.Errorf("secret %s for volume %s: %w", v.Secret.SecretName, v.Name, err)
				}
			}
			mode := os.FileMode(0o644)
			if v.Secret.DefaultMode != nil {
				mode = os.FileMode(*v.Secret.DefaultMode)
			}
			if err := writeKeys(path, secret.Data, v.Secret.Items, mode); err != nil {
				return nil, err
			}
		case v.ConfigMap != nil:
			cm := &corev1.ConfigMap{}
			if err := n.Client.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: v.ConfigMap.Name}, cm); err != nil {
				return nil, fmt.Errorf("configmap %s for volume %s: %w", v.ConfigMap.Name, v.Name, err)
			}
			data := map[string][]byte{}
			for k, s := range cm.Data {
				data[k] = []byte(s)
			}
			if err := writeKeys(path, data, v.ConfigMap.Items, 0o644); err != nil {
				return nil, err
			}
		case v.HostPath != nil:
			path = v.HostPath.Path
		default:
			return nil, fmt.Errorf("volume %s: the local node supports emptyDir, secret, configMap and hostPath volumes", v.Name)
		}
		out[v.Name] = path
	}
	return out, nil
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
