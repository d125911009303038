// Package images builds Prowl's container images without a Docker engine: each image is a Go
// binary built with CGO_ENABLED=0 for every platform, laid on a base image as one layer, and
// gathered in an OCI image index. The images are written as OCI layouts (one directory per image)
// and pushed to a registry when one is given. The same source gives the same digests: files in a
// layer are sorted, every timestamp is the source's, and nothing of the build machine is recorded.
package images

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"k8s.io/utils/clock"
)

// Labels and annotations the images carry (the OCI image spec's pre-defined keys).
const (
	LabelRevision = "org.opencontainers.image.revision"
	LabelSource   = "org.opencontainers.image.source"
	LabelTitle    = "org.opencontainers.image.title"
	LabelCreated  = "org.opencontainers.image.created"
	// AnnotationRefName names an image inside an OCI layout's index.json.
	AnnotationRefName = "org.opencontainers.image.ref.name"
)

// NonRootUser is the user of the prowl image (distroless' "nonroot").
const NonRootUser = "65532:65532"

// Spec is one image: a Go package's binary at /<Name>, run as its entrypoint.
type Spec struct {
	// Name is the image's name under the registry and the binary's file name.
	Name string
	// Package is the main package, relative to the module root (./cmd/entrypoint).
	Package string
	// NeedsGit says the image's base must provide git (clonerefs clones with it): such an image is
	// built on GitBase, by default HostGitBase.
	NeedsGit bool
	// User is the config's user; empty runs as the base's user (root on the built-in base).
	User string
}

// Specs are Prowl's images: the control-plane binary and the four pod utilities. The pod utilities
// run as root by default, as Prow's do, because they share volumes with a test container whose user
// the job chooses; a job or cluster policy can still set runAsUser.
func Specs() []Spec {
	return []Spec{
		{Name: "prowl", Package: "./cmd/prowl", User: NonRootUser},
		{Name: "entrypoint", Package: "./cmd/entrypoint"},
		{Name: "initupload", Package: "./cmd/initupload"},
		{Name: "sidecar", Package: "./cmd/sidecar"},
		{Name: "clonerefs", Package: "./cmd/clonerefs", NeedsGit: true},
	}
}

// DefaultPlatforms are the platforms every image is built for.
func DefaultPlatforms() []v1.Platform {
	return []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}
}

// Options say what to build and where it goes.
type Options struct {
	// ModuleRoot is the directory of go.mod.
	ModuleRoot string
	// OutDir receives one OCI layout per image (OutDir/<name>).
	OutDir string
	// Specs are the images to build (default: Specs()).
	Specs []Spec
	// Platforms default to DefaultPlatforms().
	Platforms []v1.Platform
	// Revision is the source revision (a git commit) recorded in each image's labels.
	Revision string
	// Source is the repository URL recorded in org.opencontainers.image.source (optional).
	Source string
	// Created is every timestamp in the images (the commit's time, or SOURCE_DATE_EPOCH).
	Created time.Time
	// Tag is the tag the images get in the layouts and the registry.
	Tag string
	// StaticBase is the base of the images that need no git: empty means the built-in base (no
	// files but /etc/passwd, /etc/group, CA certificates and /tmp). A reference is pulled from its
	// registry; "oci:DIR" reads an OCI layout.
	StaticBase string
	// GitBase is the base of the images that need git (clonerefs): a reference or "oci:DIR".
	// Empty means HostGitBase: this machine's git, for this machine's platform only; the other
	// platforms are left out of those images and Result.LeftOut says why.
	GitBase string
	// Registry, when set, is where the images are pushed (REGISTRY/<name>:<tag>).
	Registry string
	// Remote are options for pulling bases and pushing (auth, transport).
	Remote []RemoteOption
	// Log receives progress lines (nil: none).
	Log func(format string, args ...any)
}

// Result is one built image.
type Result struct {
	Spec Spec
	// Layout is the directory of its OCI layout.
	Layout string
	// Digest is the image index's digest.
	Digest v1.Hash
	// Compressed is the compressed size (config and layers) of each platform's image, by
	// "os/arch".
	Compressed map[string]int64
	// LeftOut are the platforms of Options.Platforms the image lacks, by "os/arch", with why (the
	// default git base exists only for this machine's platform).
	LeftOut map[string]string
	// Ref is the pushed tag@digest reference, or empty when nothing was pushed.
	Ref string
	// Duration is how long the build (compile and assembly) took.
	Duration time.Duration
}

// Skipped is an image Build did not build and why.
type Skipped struct {
	Spec   Spec
	Reason string
}

// Build builds every image of o.Specs into o.OutDir, and pushes each to o.Registry when set.
func Build(ctx context.Context, o Options, clk clock.PassiveClock) ([]Result, []Skipped, error) {
	o.defaults()
	if o.Tag == "" {
		return nil, nil, fmt.Errorf("images: no tag: set TAG (make images) or Options.Tag")
	}
	var results []Result
	var skipped []Skipped
	for _, spec := range o.Specs {
		base := o.StaticBase
		if spec.NeedsGit {
			base = cmp.Or(o.GitBase, HostGitBase)
		}
		start := clk.Now()
		r, err := o.buildOne(ctx, spec, base)
		var none errNoPlatform
		if errors.As(err, &none) {
			skipped = append(skipped, Skipped{Spec: spec, Reason: none.Error()})
			continue
		}
		if err != nil {
			return results, skipped, fmt.Errorf("image %s: %w", spec.Name, err)
		}
		r.Duration = clk.Since(start)
		results = append(results, r)
	}
	return results, skipped, nil
}

func (o *Options) defaults() {
	if o.Specs == nil {
		o.Specs = Specs()
	}
	if o.Platforms == nil {
		o.Platforms = DefaultPlatforms()
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	if o.Created.IsZero() {
		o.Created = time.Unix(0, 0)
	}
	o.Created = o.Created.UTC()
}

// buildOne compiles spec for every platform, assembles its index and writes and pushes it.
func (o *Options) buildOne(ctx context.Context, spec Spec, base string) (Result, error) {
	a, err := o.assemble(ctx, spec, base)
	if err != nil {
		return Result{}, err
	}
	if len(a.sizes) == 0 {
		return Result{}, errNoPlatform{a.leftOut}
	}
	idx := a.index
	dir := filepath.Join(o.OutDir, spec.Name)
	if err := writeLayout(dir, idx, spec.Name+":"+o.Tag); err != nil {
		return Result{}, err
	}
	digest, err := idx.Digest()
	if err != nil {
		return Result{}, err
	}
	r := Result{Spec: spec, Layout: dir, Digest: digest, Compressed: a.sizes, LeftOut: a.leftOut}
	o.Log("%s: %s (%s)", spec.Name, digest, dir)
	if o.Registry != "" {
		ref, err := push(ctx, idx, o.Registry+"/"+spec.Name+":"+o.Tag, o.Remote)
		if err != nil {
			return r, err
		}
		r.Ref = ref
		o.Log("%s: pushed %s", spec.Name, ref)
	}
	return r, nil
}

// errNoPlatform says the base had none of the platforms asked for.
type errNoPlatform struct{ leftOut map[string]string }

func (e errNoPlatform) Error() string {
	var why []string
	for p, r := range e.leftOut {
		why = append(why, p+": "+r)
	}
	sort.Strings(why)
	return "its base has none of the platforms (" + strings.Join(why, "; ") + "): set CLONEREFS_BASE (make images) to an image with git for them, e.g. Prow's gcr.io/k8s-prow/git:v20240729-4f255edb07, or oci:DIR for a local OCI layout"
}
