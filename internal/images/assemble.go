package images

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// assemble builds spec's image for each platform on base and returns their index and the
// compressed size of each platform's image.
func (o *Options) assemble(ctx context.Context, spec Spec, base string) (v1.ImageIndex, map[string]int64, error) {
	tmp, err := os.MkdirTemp("", "prowl-images-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(tmp)
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	sizes := map[string]int64{}
	for _, p := range o.Platforms {
		bin := filepath.Join(tmp, p.OS+"-"+p.Architecture, spec.Name)
		o.Log("%s: go build %s for %s/%s", spec.Name, spec.Package, p.OS, p.Architecture)
		if err := goBuild(ctx, o.ModuleRoot, spec.Package, p, bin); err != nil {
			return nil, nil, err
		}
		baseImg, err := resolveBase(ctx, base, p, o.Created, o.Remote)
		if err != nil {
			return nil, nil, fmt.Errorf("base %q for %s/%s: %w", displayBase(base), p.OS, p.Architecture, err)
		}
		img, err := o.platformImage(spec, baseImg, p, bin)
		if err != nil {
			return nil, nil, fmt.Errorf("%s/%s: %w", p.OS, p.Architecture, err)
		}
		size, err := compressedSize(img)
		if err != nil {
			return nil, nil, err
		}
		sizes[p.OS+"/"+p.Architecture] = size
		platform := p
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &platform, Annotations: o.annotations(spec)},
		})
	}
	return mutate.Annotations(idx, o.annotations(spec)).(v1.ImageIndex), sizes, nil
}

// platformImage lays the binary on base at /<name> and sets the entrypoint, user, labels and
// every timestamp.
func (o *Options) platformImage(spec Spec, base v1.Image, p v1.Platform, bin string) (v1.Image, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	layer, err := tarLayer([]file{{path: spec.Name, mode: 0o755, data: data}}, o.Created)
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{CreatedBy: "prowl images: /" + spec.Name + " from " + spec.Package, Created: v1.Time{Time: o.Created}},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cfg := cf.Config
	cfg.Entrypoint = []string{"/" + spec.Name}
	cfg.Cmd = nil
	cfg.WorkingDir = "/"
	if spec.User != "" {
		cfg.User = spec.User
	}
	if !slices.ContainsFunc(cfg.Env, func(e string) bool { return strings.HasPrefix(e, "PATH=") }) {
		cfg.Env = append(cfg.Env, "PATH=/usr/local/bin:/usr/bin:/bin")
	}
	cfg.Labels = maps.Clone(cfg.Labels)
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	maps.Copy(cfg.Labels, o.annotations(spec))
	cf.Config = cfg
	cf.Created = v1.Time{Time: o.Created}
	for i := range cf.History {
		if cf.History[i].Created.IsZero() {
			cf.History[i].Created = v1.Time{Time: o.Created}
		}
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	return mutate.Annotations(img, o.annotations(spec)).(v1.Image), nil
}

// annotations are the labels every image and index carries.
func (o *Options) annotations(spec Spec) map[string]string {
	a := map[string]string{
		LabelTitle:   spec.Name,
		LabelCreated: o.Created.Format("2006-01-02T15:04:05Z"),
	}
	if o.Revision != "" {
		a[LabelRevision] = o.Revision
	}
	if o.Source != "" {
		a[LabelSource] = o.Source
	}
	return a
}

// compressedSize is what a registry stores for img: its config and compressed layers.
func compressedSize(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	total := m.Config.Size
	for _, l := range m.Layers {
		total += l.Size
	}
	return total, nil
}
