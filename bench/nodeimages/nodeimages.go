// Package nodeimages measures what running a container in its image adds to a Pod's start on
// the local node: a Pod of one `true` container run on the host's filesystem (the baseline),
// in a cached image, and in a 50 MB image first pulled from a registry on loopback.
package nodeimages

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/prowl-ci/prowl/internal/localnode"
)

// BigImageBytes is the size of the image first pulled.
const BigImageBytes = 50 << 20

// Bench holds a registry on loopback serving a small and a 50 MB busybox image, and a prowl
// binary for the node's helper.
type Bench struct {
	dir        string
	srv        *httptest.Server
	prowl      string
	small, big string
	n          int
}

// New builds prowl from root and pushes the images; it fails where the local node cannot run
// (not root) or busybox-static is absent.
func New(root string) (*Bench, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("nodeImages: the local node needs root")
	}
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return nil, fmt.Errorf("nodeImages: no /bin/busybox (Debian's busybox-static): %w", err)
	}
	dir, err := os.MkdirTemp("", "prowl-bench-nodeimages-")
	if err != nil {
		return nil, err
	}
	b := &Bench{dir: dir, prowl: filepath.Join(dir, "prowl")}
	if out, err := exec.Command("go", "build", "-o", b.prowl, filepath.Join(root, "cmd", "prowl")).CombinedOutput(); err != nil {
		b.Stop()
		return nil, fmt.Errorf("build prowl: %w\n%s", err, out)
	}
	b.srv = httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	if err := b.push(busybox); err != nil {
		b.Stop()
		return nil, err
	}
	return b, nil
}

// push makes the small image (busybox) and the big one (busybox and 50 MB of random bytes).
func (b *Bench) push(busybox []byte) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755}, {Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(busybox))}} {
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Size > 0 {
			_, _ = tw.Write(busybox)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "bin/true", Typeflag: tar.TypeSymlink, Linkname: "busybox"}); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	raw := buf.Bytes()
	base, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil })
	if err != nil {
		return err
	}
	filler, err := random.Layer(BigImageBytes, types.OCILayer)
	if err != nil {
		return err
	}
	host := strings.TrimPrefix(b.srv.URL, "http://")
	for ref, layers := range map[*string][]v1.Layer{&b.small: {base}, &b.big: {base, filler}} {
		img, err := mutate.AppendLayers(empty.Image, layers...)
		if err != nil {
			return err
		}
		*ref = fmt.Sprintf("%s/bench/busybox:%d", host, len(layers))
		r, err := name.ParseReference(*ref)
		if err != nil {
			return err
		}
		if err := remote.Write(r, img); err != nil {
			return fmt.Errorf("push %s: %w", *ref, err)
		}
	}
	return nil
}

// Stop stops the registry and removes the files.
func (b *Bench) Stop() {
	if b.srv != nil {
		b.srv.Close()
	}
	_ = os.RemoveAll(b.dir)
}

// HostFilesystem runs the Pod on the host's filesystem, as the node did before images.
func (b *Bench) HostFilesystem() error { return b.run(&localnode.Node{HostFilesystem: true}, "") }

// Cached runs the Pod in the small image, whose layers the first call unpacked.
func (b *Bench) Cached() error {
	return b.run(&localnode.Node{Images: &localnode.Images{Dir: filepath.Join(b.dir, "cache")}}, b.small)
}

// FirstPull runs the Pod in the 50 MB image with an empty layer cache: pull, unpack, run.
func (b *Bench) FirstPull() error {
	dir := filepath.Join(b.dir, "cold")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return b.run(&localnode.Node{Images: &localnode.Images{Dir: dir}}, b.big)
}

// run runs a Pod of one `true` container on n to its end.
func (b *Bench) run(n *localnode.Node, image string) error {
	b.n++
	n.Name, n.DataDir, n.Self, n.Utilities = "bench", filepath.Join(b.dir, "node"), b.prowl, b.dir
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", b.n)}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "test", Image: image, Command: []string{"true"}}}}}
	if phase := n.RunOnce(context.Background(), pod); phase != corev1.PodSucceeded {
		return fmt.Errorf("pod of %q: %s", image, phase)
	}
	return nil
}
