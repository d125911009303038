package localnode

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The OCI image spec's whiteout names: ".wh.NAME" deletes NAME of the layers below, and
// ".wh..wh..opq" in a directory hides everything the layers below put there.
const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
	// overlayOpaque is the xattr overlayfs reads as "this directory is opaque".
	overlayOpaque = "trusted.overlay.opaque"
)

// unpackLayer downloads l and unpacks it at dir in overlayfs' format, through a temporary
// directory renamed into place, so that a half-unpacked layer is never used. It records the
// unpacked size beside dir (dir + ".size"), which marks the layer ready.
func unpackLayer(ctx context.Context, l v1.Layer, dir string) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return 0, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".unpacking-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return 0, err
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return 0, fmt.Errorf("fetch layer: %w", err)
	}
	defer rc.Close()
	size, err := untar(ctx, tar.NewReader(rc), tmp)
	if err != nil {
		return 0, err
	}
	_ = os.RemoveAll(dir) // a stale unpack that never recorded its size
	if err := os.Rename(tmp, dir); err != nil {
		return 0, err
	}
	return size, os.WriteFile(dir+".size", []byte(fmt.Sprint(size)), 0o600)
}

// untar writes a layer's entries under root, none of them outside it (a path through a symlink
// resolves inside root), and returns the bytes of its regular files.
func untar(ctx context.Context, tr *tar.Reader, root string) (int64, error) {
	var size int64
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return size, nil
		}
		if err != nil {
			return 0, fmt.Errorf("read layer: %w", err)
		}
		clean := path.Clean("/" + hdr.Name)
		if clean == "/" {
			continue
		}
		parent, err := securejoin.SecureJoin(root, path.Dir(clean))
		if err != nil {
			return 0, err
		}
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return 0, err
		}
		target := filepath.Join(parent, path.Base(clean))
		if err := writeEntry(tr, hdr, root, target); err != nil {
			return 0, fmt.Errorf("unpack %s: %w", hdr.Name, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			size += hdr.Size
		}
	}
}

// writeEntry writes one tar entry at target, whiteouts as overlayfs expects them.
func writeEntry(tr *tar.Reader, hdr *tar.Header, root, target string) error {
	base := filepath.Base(target)
	switch {
	case base == whiteoutOpaque:
		return syscall.Setxattr(filepath.Dir(target), overlayOpaque, []byte("y"), 0)
	case strings.HasPrefix(base, whiteoutPrefix):
		return syscall.Mknod(filepath.Join(filepath.Dir(target), strings.TrimPrefix(base, whiteoutPrefix)), syscall.S_IFCHR, 0)
	}
	mode := os.FileMode(hdr.Mode).Perm()
	if hdr.Mode&0o4000 != 0 {
		mode |= os.ModeSetuid
	}
	if hdr.Mode&0o2000 != 0 {
		mode |= os.ModeSetgid
	}
	if hdr.Mode&0o1000 != 0 {
		mode |= os.ModeSticky
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.Mkdir(target, 0o755); err != nil && !os.IsExist(err) {
			return err
		}
	case tar.TypeReg:
		_ = os.RemoveAll(target)
		if err := copyToFile(target, tr); err != nil {
			return err
		}
	case tar.TypeSymlink:
		_ = os.RemoveAll(target)
		return os.Symlink(hdr.Linkname, target)
	case tar.TypeLink:
		src, err := securejoin.SecureJoin(root, hdr.Linkname)
		if err != nil {
			return err
		}
		_ = os.RemoveAll(target)
		return os.Link(src, target)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		kind := map[byte]uint32{tar.TypeChar: syscall.S_IFCHR, tar.TypeBlock: syscall.S_IFBLK, tar.TypeFifo: syscall.S_IFIFO}[hdr.Typeflag]
		dev := int((hdr.Devmajor << 8) | (hdr.Devminor & 0xff) | ((hdr.Devminor &^ 0xff) << 12))
		if err := syscall.Mknod(target, kind|uint32(mode.Perm()), dev); err != nil {
			return nil // a device node this machine will not make is left out, as rootless runtimes do
		}
	default:
		return nil // extended headers and the like carry nothing to write
	}
	if err := os.Lchown(target, hdr.Uid, hdr.Gid); err != nil {
		return err
	}
	if err := os.Chmod(target, mode); err != nil {
		return err
	}
	return os.Chtimes(target, hdr.AccessTime, hdr.ModTime)
}

// copyToFile writes r to a new file at target, readable by its owner until its mode is set.
func copyToFile(target string, r io.Reader) error {
	f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
