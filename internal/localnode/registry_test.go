package localnode

import (
	"archive/tar"
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The private repository's credentials, which the test registry demands for /v2/private/.
const (
	privateUser     = "prow"
	privatePassword = "s3cret"
)

// testRegistry is go-containerregistry's registry on loopback, asking for Basic credentials on
// repositories under private/ as a real registry does (401 with a challenge, then UNAUTHORIZED).
func testRegistry(t *testing.T) string {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _, hasAuth := r.BasicAuth()
		user, pass, _ := r.BasicAuth()
		if (r.URL.Path == "/v2/" && !hasAuth) || (strings.HasPrefix(r.URL.Path, "/v2/private/") && (user != privateUser || pass != privatePassword)) {
			w.Header().Set("WWW-Authenticate", `Basic realm="prowl-test"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required for the private repository"}]}`)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// entry is a file of a test layer: a regular file, or with link set, a symlink.
type entry struct {
	name, body, link string
	mode             int64
}

// tarLayerOf makes a layer of entries.
func tarLayerOf(t *testing.T, entries []entry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: e.mode, Typeflag: tar.TypeReg, Size: int64(len(e.body))}
		switch {
		case e.link != "":
			hdr.Typeflag, hdr.Linkname, hdr.Size, hdr.Mode = tar.TypeSymlink, e.link, 0, 0o777
		case strings.HasSuffix(e.name, "/"):
			hdr.Typeflag, hdr.Size, hdr.Mode = tar.TypeDir, 0, 0o755
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// busyboxImage is a real static userland from Debian's busybox-static: /bin/busybox and its
// applets, a command only the image has, a file a later layer deletes (a whiteout), a directory a
// later layer makes opaque, and a config setting Env, WorkingDir, Entrypoint and Cmd.
func busyboxImage(t *testing.T) v1.Image {
	t.Helper()
	raw, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skip("skipping: no /bin/busybox (Debian's busybox-static; .ci/run installs it)")
	}
	out, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
	}
	base := []entry{{name: "bin/"}, {name: "bin/busybox", body: string(raw), mode: 0o755}, {name: "etc/"},
		{name: "etc/passwd", body: "root:x:0:0:root:/root:/bin/sh\nbuilder:x:1000:1000:builder:/home/builder:/bin/sh\n"},
		{name: "usr/local/bin/only-in-image", body: "#!/bin/sh\necho only in the image\n", mode: 0o755},
		{name: "data/gone.txt", body: "deleted by the next layer\n"}, {name: "data/kept.txt", body: "kept\n"},
		{name: "opq/old.txt", body: "hidden by the opaque directory\n"}}
	for _, applet := range strings.Fields(string(out)) {
		if applet != "busybox" {
			base = append(base, entry{name: "bin/" + applet, link: "busybox"})
		}
	}
	top := []entry{{name: "data/.wh.gone.txt"}, {name: "opq/"}, {name: "opq/.wh..wh..opq"}, {name: "opq/new.txt", body: "new\n"}}
	img, err := mutate.AppendLayers(empty.Image, tarLayerOf(t, base), tarLayerOf(t, top))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	cfg.Config.Env = []string{"PATH=/usr/local/bin:/bin", "IMAGE_VAR=from-image", "OVERRIDE=image"}
	cfg.Config.WorkingDir = "/work"
	cfg.Config.Entrypoint = []string{"sh", "-c"}
	cfg.Config.Cmd = []string{"echo default command"}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// push writes img to the registry as repo:tag and returns its reference.
func push(t *testing.T, host, repo string, img v1.Image) string {
	t.Helper()
	ref, err := name.ParseReference(host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: privateUser, Password: privatePassword})); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return ref.String()
}
