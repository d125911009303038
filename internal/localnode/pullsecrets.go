package localnode

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// dockerConfigKeychain gives a registry the credentials a .dockerconfigjson names for it, as the
// kubelet reads a Pod's imagePullSecrets.
type dockerConfigKeychain map[string]authn.AuthConfig

// Resolve answers for the target's registry, or anonymously when the secrets do not name it.
func (k dockerConfigKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	if cfg, ok := k[target.RegistryStr()]; ok {
		return authn.FromConfig(cfg), nil
	}
	return authn.Anonymous, nil
}

// keychain is the Pod's imagePullSecrets (kubernetes.io/dockerconfigjson), then the user's
// ~/.docker/config.json and credential helpers.
func (n *Node) keychain(ctx context.Context, pod *corev1.Pod) (authn.Keychain, error) {
	if len(pod.Spec.ImagePullSecrets) == 0 || n.Client == nil {
		return authn.DefaultKeychain, nil
	}
	k := dockerConfigKeychain{}
	for _, ref := range pod.Spec.ImagePullSecrets {
		var s corev1.Secret
		if err := n.Client.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: ref.Name}, &s); err != nil {
			// The kubelet pulls without a secret it cannot read, and the registry says no.
			continue
		}
		if s.Type != corev1.SecretTypeDockerConfigJson {
			continue
		}
		if err := k.add(s.Data[corev1.DockerConfigJsonKey]); err != nil {
			return nil, fmt.Errorf("imagePullSecret %s: %w", ref.Name, err)
		}
	}
	return authn.NewMultiKeychain(k, authn.DefaultKeychain), nil
}

// add reads a .dockerconfigjson's auths, keyed by registry host ("https://host/v1/" too).
func (k dockerConfigKeychain) add(raw []byte) error {
	var cfg struct {
		Auths map[string]authn.AuthConfig `json:"auths"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return fmt.Errorf("read %s: %w", corev1.DockerConfigJsonKey, err)
	}
	for key, a := range cfg.Auths {
		if a.Auth != "" && a.Username == "" {
			if dec, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
				if user, pass, ok := strings.Cut(string(dec), ":"); ok {
					a.Username, a.Password, a.Auth = user, pass, ""
				}
			}
		}
		host := key
		if u, err := url.Parse(key); err == nil && u.Host != "" {
			host = u.Host
		}
		host, _, _ = strings.Cut(host, "/")
		if host == "docker.io" || host == "registry-1.docker.io" {
			host = "index.docker.io"
		}
		k[host] = a
	}
	return nil
}
