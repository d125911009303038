package images

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// RemoteOption adjusts how bases are pulled and images pushed (auth, transport).
type RemoteOption = remote.Option

// layoutPrefix marks a base read from an OCI layout directory rather than a registry.
const layoutPrefix = "oci:"

func displayBase(base string) string {
	if base == "" {
		return "built-in static base"
	}
	return base
}

// resolveBase is the image of base for platform p: the built-in base when base is empty, the
// matching manifest of an index (or a single image of that platform) from a registry or from an
// OCI layout ("oci:DIR").
func resolveBase(ctx context.Context, base string, p v1.Platform, created time.Time, opts []RemoteOption) (v1.Image, error) {
	switch {
	case base == "":
		return builtinBase(created)
	case base == HostGitBase:
		return hostGitBase("/", p, created)
	case strings.HasPrefix(base, layoutPrefix):
		idx, err := layout.ImageIndexFromPath(strings.TrimPrefix(base, layoutPrefix))
		if err != nil {
			return nil, err
		}
		return platformOf(idx, p)
	}
	ref, err := name.ParseReference(base)
	if err != nil {
		return nil, err
	}
	all := append([]RemoteOption{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithPlatform(p)}, opts...)
	img, err := remote.Image(ref, all...)
	if err != nil {
		return nil, fmt.Errorf("%w (a base is pulled from its registry; offline, give an OCI layout as oci:DIR)", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	if cf.OS != p.OS || cf.Architecture != p.Architecture {
		return nil, fmt.Errorf("it is %s/%s only; give a multi-platform base", cf.OS, cf.Architecture)
	}
	return img, nil
}

// platformOf finds p's image in an OCI layout's index, looking one level into nested indexes.
func platformOf(idx v1.ImageIndex, p v1.Platform) (v1.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range m.Manifests {
		if d.MediaType.IsIndex() {
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			if img, err := platformOf(child, p); err == nil {
				return img, nil
			}
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		if cf.OS == p.OS && cf.Architecture == p.Architecture {
			return img, nil
		}
	}
	return nil, fmt.Errorf("no image for %s/%s in the layout", p.OS, p.Architecture)
}

// writeLayout replaces dir with an OCI layout holding idx, named ref in index.json.
func writeLayout(dir string, idx v1.ImageIndex, ref string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("write OCI layout %s: %w", dir, err)
	}
	if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{AnnotationRefName: ref})); err != nil {
		return fmt.Errorf("write OCI layout %s: %w", dir, err)
	}
	return nil
}

// push writes idx to tag and returns tag@digest.
func push(ctx context.Context, idx v1.ImageIndex, tag string, opts []RemoteOption) (string, error) {
	ref, err := name.NewTag(tag)
	if err != nil {
		return "", fmt.Errorf("registry reference %q: %w (REGISTRY is HOST[:PORT]/PATH)", tag, err)
	}
	all := append([]RemoteOption{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}, opts...)
	if err := remote.WriteIndex(ref, idx, all...); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	digest, err := idx.Digest()
	if err != nil {
		return "", err
	}
	return ref.String() + "@" + digest.String(), nil
}
