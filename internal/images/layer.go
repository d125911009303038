package images

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/pem"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// file is one entry of a layer; a path ending in "/" is a directory, one with a symlink is a
// symbolic link to it, and one with a hardlink is the same file as that earlier path.
type file struct {
	path     string
	mode     int64
	data     []byte
	symlink  string
	hardlink string
}

// tarLayer is a gzip-compressed OCI layer of files, sorted by path, each owned by root and dated
// created, with every parent directory present: the same files give the same digest.
func tarLayer(files []file, created time.Time) (v1.Layer, error) {
	entries := withParents(files)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range entries {
		hdr := &tar.Header{Name: f.path, Mode: f.mode, ModTime: created, Format: tar.FormatPAX, Uname: "root", Gname: "root"}
		switch {
		case strings.HasSuffix(f.path, "/"):
			hdr.Typeflag = tar.TypeDir
		case f.symlink != "":
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, f.symlink
		case f.hardlink != "":
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, f.hardlink
		default:
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(f.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	// Compressed once here: the library would compress again on every read of an uncompressed
	// opener (for the digest, the size, the layout and the push), which is slow for a large binary.
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(buf.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	compressed := gz.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(compressed)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// withParents adds the missing parent directories of files (mode 0755) and sorts them by path.
func withParents(files []file) []file {
	seen := map[string]bool{}
	var out []file
	for _, f := range files {
		seen[f.path] = true
		out = append(out, f)
	}
	for _, f := range files {
		for dir := path.Dir(strings.TrimSuffix(f.path, "/")); dir != "." && dir != "/"; dir = path.Dir(dir) {
			if !seen[dir+"/"] {
				seen[dir+"/"] = true
				out = append(out, file{path: dir + "/", mode: 0o755})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

// builtinBase is the default static base: no shell, no package manager, only what a static Go
// binary reads from its filesystem. /etc/passwd names root and nonroot (65532, distroless' user);
// the CA certificates come from golang.org/x/crypto/x509roots/fallback (Mozilla's roots, pinned in
// go.mod), not from the build machine, so every machine builds the same base.
func builtinBase(created time.Time) (v1.Image, error) {
	files := []file{
		{path: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{path: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{path: "etc/nsswitch.conf", mode: 0o644, data: []byte("hosts: files dns\n")},
		{path: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: caBundle()},
		{path: "home/nonroot/", mode: 0o700},
		{path: "root/", mode: 0o700},
		{path: "tmp/", mode: 0o1777},
	}
	layer, err := tarLayer(files, created)
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	return mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{CreatedBy: "prowl images: built-in static base (passwd, group, CA certificates, tmp)", Created: v1.Time{Time: created}},
	})
}

// caBundle is the PEM bundle of the fallback roots that carry no extra constraint (a constraint,
// such as a distrust date, cannot be written in a PEM file, so those roots are left out).
func caBundle() []byte {
	var buf bytes.Buffer
	for root := range bundle.Roots() {
		if root.Constraint != nil {
			continue
		}
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate})
	}
	return buf.Bytes()
}
