package images_test

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/prowl-ci/prowl/internal/images"
	"github.com/prowl-ci/prowl/internal/testutil"
)

var created = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func entrypointOptions(t *testing.T, out string) images.Options {
	t.Helper()
	return images.Options{
		ModuleRoot: testutil.RepoRoot(),
		OutDir:     out,
		Specs:      []images.Spec{{Name: "entrypoint", Package: "./cmd/entrypoint"}},
		Revision:   "0123456789abcdef0123456789abcdef01234567",
		Created:    created,
		Tag:        "test",
	}
}

func build(t *testing.T, o images.Options) []images.Result {
	t.Helper()
	results, skipped, err := images.Build(context.Background(), o, clocktesting.NewFakePassiveClock(created))
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) != 0 {
		t.Fatalf("skipped %v", skipped)
	}
	return results
}

// TestEntrypointImage builds the entrypoint image twice: the same source gives the same index
// digest, the OCI layout holds one image per platform, and each is labelled, runs /entrypoint with
// no command given, and holds the built-in base's files.
func TestEntrypointImage(t *testing.T) {
	first := build(t, entrypointOptions(t, t.TempDir()))
	second := build(t, entrypointOptions(t, t.TempDir()))
	if first[0].Digest != second[0].Digest {
		t.Fatalf("two builds of the same source differ: %s and %s", first[0].Digest, second[0].Digest)
	}
	idx, err := layout.ImageIndexFromPath(first[0].Layout)
	if err != nil {
		t.Fatal(err)
	}
	outer, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(outer.Manifests) != 1 || outer.Manifests[0].Annotations[images.AnnotationRefName] != "entrypoint:test" {
		t.Fatalf("layout index.json: %+v", outer.Manifests)
	}
	inner, err := idx.ImageIndex(outer.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := inner.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIImageIndex || len(m.Manifests) != 2 {
		t.Fatalf("want an OCI index of 2 platforms, got %s with %d", m.MediaType, len(m.Manifests))
	}
	for _, d := range m.Manifests {
		img, err := inner.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		checkImage(t, img, d.Platform, "/entrypoint")
	}
	for arch, size := range first[0].Compressed {
		t.Logf("entrypoint image for %s: %d bytes compressed", arch, size)
		if size > 5e6 {
			t.Errorf("entrypoint image for %s is %d bytes compressed, over the 5 MB target", arch, size)
		}
	}
}

func checkImage(t *testing.T, img v1.Image, p *v1.Platform, entry string) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != p.OS || cf.Architecture != p.Architecture {
		t.Errorf("config says %s/%s, descriptor %s/%s", cf.OS, cf.Architecture, p.OS, p.Architecture)
	}
	if got := strings.Join(cf.Config.Entrypoint, " "); got != entry || len(cf.Config.Cmd) != 0 {
		t.Errorf("entrypoint %q cmd %q, want %q and no cmd", got, cf.Config.Cmd, entry)
	}
	if cf.Config.Labels[images.LabelRevision] != "0123456789abcdef0123456789abcdef01234567" {
		t.Errorf("labels %v lack the revision", cf.Config.Labels)
	}
	if !cf.Created.Equal(created) {
		t.Errorf("created %s, want %s", cf.Created, created)
	}
	files := extract(t, img)
	for _, f := range []string{strings.TrimPrefix(entry, "/"), "etc/passwd", "etc/ssl/certs/ca-certificates.crt", "tmp"} {
		if _, ok := files[f]; !ok {
			t.Errorf("%s/%s image lacks %s", p.OS, p.Architecture, f)
		}
	}
	if h := files[strings.TrimPrefix(entry, "/")]; h != nil && (h.Mode&0o111 == 0 || !h.ModTime.Equal(created)) {
		t.Errorf("%s: mode %o mtime %s", entry, h.Mode, h.ModTime)
	}
}

// extract lists the files of img's flattened filesystem.
func extract(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	files := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimSuffix(h.Name, "/")] = h
	}
}

// TestImageRunsOnThisMachine unpacks this machine's platform of the entrypoint image and runs
// the image's entrypoint as a runtime would with no command: the file is a working binary.
func TestImageRunsOnThisMachine(t *testing.T) {
	o := entrypointOptions(t, t.TempDir())
	o.Platforms = []v1.Platform{{OS: "linux", Architecture: goarch(t)}}
	img := platformImage(t, build(t, o)[0].Layout, o.Platforms[0])
	root := t.TempDir()
	unpack(t, img, root)
	cf, _ := img.ConfigFile()
	out, err := exec.Command(filepath.Join(root, cf.Config.Entrypoint[0])).CombinedOutput()
	// With no options the entrypoint reports the missing $ENTRYPOINT_OPTIONS and exits non-zero.
	if err == nil || !strings.Contains(string(out), "ENTRYPOINT_OPTIONS") {
		t.Fatalf("running the image's entrypoint: %v\n%s", err, out)
	}
}

// platformImage is p's image in the OCI layout at dir (one image index, as Build writes).
func platformImage(t *testing.T, dir string, p v1.Platform) v1.Image {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	inner, err := idx.ImageIndex(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := inner.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		if d.Platform != nil && d.Platform.OS == p.OS && d.Platform.Architecture == p.Architecture {
			img, err := inner.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			return img
		}
	}
	t.Fatalf("%s has no image for %s/%s", dir, p.OS, p.Architecture)
	return nil
}

func goarch(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOARCH").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func unpack(t *testing.T, img v1.Image, dir string) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, h.Name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(path, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		case tar.TypeSymlink:
			if err := os.Symlink(h.Linkname, path); err != nil {
				t.Fatal(err)
			}
			continue
		case tar.TypeLink:
			if err := os.Link(filepath.Join(dir, h.Linkname), path); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, os.FileMode(h.Mode))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, tr); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}

// TestPushAndGitBase pushes to an in-process registry on loopback: clonerefs, given a git base
// (CLONEREFS_BASE, pushed there first, for both platforms), is built on its layers with its PATH
// kept, pushed by tag, and readable back with the same digest.
func TestPushAndGitBase(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	reg := strings.TrimPrefix(srv.URL, "http://")
	o := entrypointOptions(t, t.TempDir())
	o.Specs = []images.Spec{{Name: "clonerefs", Package: "./cmd/clonerefs", NeedsGit: true}}
	o.GitBase = pushGitBase(t, reg+"/base/git:1")
	o.Registry = reg + "/prowl"
	r := build(t, o)[0]
	want := reg + "/prowl/clonerefs:test@" + r.Digest.String()
	if r.Ref != want {
		t.Fatalf("ref %q, want %q", r.Ref, want)
	}
	ref, err := name.ParseReference(reg + "/prowl/clonerefs:test")
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest != r.Digest || !desc.MediaType.IsIndex() {
		t.Fatalf("registry has %s %s, built %s", desc.MediaType, desc.Digest, r.Digest)
	}
	img, err := remote.Image(ref, remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "arm64"}))
	if err != nil {
		t.Fatal(err)
	}
	files := extract(t, img)
	if files["usr/bin/git"] == nil || files["clonerefs"] == nil {
		t.Errorf("clonerefs image lacks the base's git or its binary: %v", keys(files))
	}
	cf, _ := img.ConfigFile()
	if strings.Join(cf.Config.Env, " ") != "PATH=/usr/libexec/git-core:/usr/bin" {
		t.Errorf("env %v: the base's PATH was not kept", cf.Config.Env)
	}
}

// pushGitBase pushes a two-platform base with a stand-in /usr/bin/git and its own PATH.
func pushGitBase(t *testing.T, tag string) string {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64"} {
		layer := gitLayer(t, arch)
		img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{Layer: layer})
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := img.ConfigFile()
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = "linux", arch
		cf.Config.Env = []string{"PATH=/usr/libexec/git-core:/usr/bin"}
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	return tag
}

func gitLayer(t *testing.T, arch string) v1.Layer {
	t.Helper()
	var buf strings.Builder
	tw := tar.NewWriter(&buf)
	body := "#!/bin/sh\necho git for " + arch + "\n"
	for _, h := range []*tar.Header{{Name: "usr/", Typeflag: tar.TypeDir, Mode: 0o755}, {Name: "usr/bin/", Typeflag: tar.TypeDir, Mode: 0o755}, {Name: "usr/bin/git", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(body))}} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tw.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return static.NewLayer([]byte(buf.String()), types.OCIUncompressedLayer)
}

func keys(m map[string]*tar.Header) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
