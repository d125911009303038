package images

import (
	"context"
	"errors"
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

// assembled is spec's image index, the compressed size of each platform's image, and the
// platforms left out because the base has none for them, with why.
type assembled struct {
	index   v1.ImageIndex
	sizes   map[string]int64
	leftOut map[string]string
}

// assemble builds spec's image for each platform on base.
func (o *Options) assemble(ctx context.Context, spec Spec, base string) (assembled, error) {
	tmp, err := os.MkdirTemp("", "prowl-images-")
	if err != nil {
		return assembled{}, err
	}
	defer os.RemoveAll(tmp)
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	out := assembled{sizes: map[string]int64{}, leftOut: map[string]string{}}
	for _, p := range o.Platforms {
		plat := p.OS + "/" + p.Architecture
		baseImg, err := resolveBase(ctx, base, p, o.Created, o.Remote)
		if errors.Is(err, errNoHostGit) {
			out.leftOut[plat] = err.Error()
			o.Log("%s: left out %s: %v", spec.Name, plat, err)
			continue
		}
		if err != nil {
			return out, fmt.Errorf("base %q for %s: %w", displayBase(base), plat, err)
		}
		bin := filepath.Join(tmp, p.OS+"-"+p.Architecture, spec.Name)
		o.Log("%s: go build %s for %s", spec.Name, spec.Package, plat)
		if err := goBuild(ctx, o.ModuleRoot, spec.Package, p, bin); err != nil {
			return out, err
		}
		img, err := o.platformImage(spec, baseImg, p, bin)
		if err != nil {
			return out, fmt.Errorf("%s: %w", plat, err)
		}
		if out.sizes[plat], err = compressedSize(img); err != nil {
			return out, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &p, Annotations: o.annotations(spec)},
		})
	}
	out.index = mutate.Annotations(idx, o.annotations(spec)).(v1.ImageIndex)
	return out, nil
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
