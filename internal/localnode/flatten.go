package localnode

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// flatten copies unpacked layers (topmost first) into dst, bottom layer first, applying their
// whiteouts as overlayfs would: what a kernel without overlayfs gives each container instead.
func flatten(layers []string, dst string) error {
	for i := len(layers) - 1; i >= 0; i-- {
		src := layers[i]
		err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == src {
				return err
			}
			rel, _ := filepath.Rel(src, p)
			return copyEntry(p, filepath.Join(dst, rel), d)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// copyEntry copies one unpacked entry over what the layers below left at target.
func copyEntry(src, target string, d fs.DirEntry) error {
	var st syscall.Stat_t
	if err := syscall.Lstat(src, &st); err != nil {
		return err
	}
	mode := st.Mode & syscall.S_IFMT
	if mode == syscall.S_IFCHR && st.Rdev == 0 {
		return os.RemoveAll(target) // a whiteout
	}
	if d.IsDir() {
		opaque := make([]byte, 1)
		if n, _ := syscall.Getxattr(src, overlayOpaque, opaque); n == 1 && opaque[0] == 'y' {
			_ = os.RemoveAll(target)
		}
		if info, err := os.Lstat(target); err == nil && !info.IsDir() {
			_ = os.RemoveAll(target)
		}
		if err := os.Mkdir(target, 0o755); err != nil && !os.IsExist(err) {
			return err
		}
	} else {
		_ = os.RemoveAll(target)
		if err := copyNode(src, target, mode, &st); err != nil {
			return err
		}
	}
	if err := os.Lchown(target, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	if mode == syscall.S_IFLNK {
		return nil
	}
	return syscall.Chmod(target, st.Mode&0o7777)
}

// copyNode makes a non-directory entry: a file's content, a symlink's target, a device's number.
func copyNode(src, target string, mode uint32, st *syscall.Stat_t) error {
	switch mode {
	case syscall.S_IFLNK:
		to, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(to, target)
	case syscall.S_IFREG:
		in, err := os.Open(src)
		if err != nil {
			return err
		}
		defer in.Close()
		return copyToFile(target, in)
	}
	return syscall.Mknod(target, st.Mode, int(st.Rdev))
}
