package containerinit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Root is a container's root filesystem and identity, for the helper.
type Root struct {
	// LayerDir holds the image's unpacked layers; Lower names them, topmost first (relative
	// names keep overlayfs' option string short).
	LayerDir string   `json:"layerDir"`
	Lower    []string `json:"lower"`
	// Upper and Work are the container's writable layer and overlayfs' scratch directory; Merged
	// is where the root is assembled. With Copy, Merged is already a full copy of the image.
	Upper  string `json:"upper"`
	Work   string `json:"work"`
	Merged string `json:"merged"`
	Copy   bool   `json:"copy,omitempty"`
	// Hostname is the Pod's name, in a UTS namespace of the container's own.
	Hostname string `json:"hostname"`
	// UID, GID and Groups are the process's identity (securityContext, else the image's user).
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups,omitempty"`
}

// execInImage assembles the container's root (its image under a writable layer, its volumes,
// /proc, a minimal /dev), pivots into it, takes the container's user and runs its command. It
// runs as PID 1 of a PID namespace of its own, so the container's processes end with it.
func execInImage(l Launch) int {
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "localnode: %v\n", err)
		return 127
	}
	r := l.Root
	sources := openSources(l.Mounts)
	if err := makePrivate(); err != nil {
		return fail(err)
	}
	if err := mountRoot(r); err != nil {
		return fail(err)
	}
	if err := bindVolumes(r.Merged, l.Mounts, sources); err != nil {
		return fail(err)
	}
	if err := mountSpecial(r.Merged); err != nil {
		return fail(err)
	}
	if err := pivot(r.Merged); err != nil {
		return fail(err)
	}
	_ = syscall.Sethostname([]byte(r.Hostname))
	workDir := l.WorkDir
	if workDir == "" {
		workDir = "/"
	}
	// The runtime makes a missing working directory, as root, before it takes the user.
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return fail(fmt.Errorf("working directory %s: %w", workDir, err))
	}
	if err := takeUser(r); err != nil {
		return fail(err)
	}
	if err := os.Chdir(workDir); err != nil {
		return fail(fmt.Errorf("working directory %s: %w", workDir, err))
	}
	path := l.Argv[0]
	if !strings.Contains(path, "/") {
		p, err := lookPath(path)
		if err != nil {
			return fail(fmt.Errorf("exec: %q: executable file not found in $PATH", path))
		}
		path = p
	}
	err := syscall.Exec(path, l.Argv, os.Environ())
	return fail(fmt.Errorf("exec %s: %w", l.Argv[0], err))
}

// mountRoot mounts the image and the container's writable layer at Merged: overlayfs, or the
// copy made beforehand bound onto itself (pivot_root needs a mount point).
func mountRoot(r *Root) error {
	if r.Copy {
		if err := syscall.Mount(r.Merged, r.Merged, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
			return fmt.Errorf("bind the root copy: %w", err)
		}
		return nil
	}
	if err := os.Chdir(r.LayerDir); err != nil {
		return err
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", strings.Join(r.Lower, ":"), r.Upper, r.Work)
	if err := syscall.Mount("overlay", r.Merged, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount the image's layers (overlayfs): %w", err)
	}
	return nil
}

// devices are the host's device nodes a container sees, as runc's default set.
var devices = []string{"null", "zero", "full", "random", "urandom", "tty"}

// mountSpecial mounts /proc (of the new PID namespace) and a minimal /dev under root.
func mountSpecial(root string) error {
	proc := filepath.Join(root, "proc")
	if err := os.MkdirAll(proc, 0o555); err != nil {
		return err
	}
	if err := syscall.Mount("proc", proc, "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	dev := filepath.Join(root, "dev")
	if err := os.MkdirAll(dev, 0o755); err != nil {
		return err
	}
	if err := syscall.Mount("tmpfs", dev, "tmpfs", syscall.MS_NOSUID, "mode=755,size=65536k"); err != nil {
		return fmt.Errorf("mount /dev: %w", err)
	}
	for _, d := range devices {
		target := filepath.Join(dev, d)
		if err := os.WriteFile(target, nil, 0o666); err != nil {
			return err
		}
		if err := syscall.Mount("/dev/"+d, target, "", syscall.MS_BIND, ""); err != nil {
			return fmt.Errorf("mount /dev/%s: %w", d, err)
		}
	}
	for link, to := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"} {
		if err := os.Symlink(to, filepath.Join(dev, link)); err != nil {
			return err
		}
	}
	shm := filepath.Join(dev, "shm")
	if err := os.Mkdir(shm, 0o1777); err != nil {
		return err
	}
	return syscall.Mount("shm", shm, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, "mode=1777,size=65536k")
}

// pivot makes root the process's root and lets go of the old one.
func pivot(root string) error {
	if err := os.Chdir(root); err != nil {
		return err
	}
	if err := syscall.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root into the image: %w", err)
	}
	if err := syscall.Unmount(".", syscall.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the host's root: %w", err)
	}
	return os.Chdir("/")
}

// takeUser becomes the container's user: groups first, while still allowed to.
func takeUser(r *Root) error {
	groups := make([]int, len(r.Groups))
	for i, g := range r.Groups {
		groups[i] = int(g)
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(int(r.GID)); err != nil {
		return fmt.Errorf("setgid %d: %w", r.GID, err)
	}
	if err := syscall.Setuid(int(r.UID)); err != nil {
		return fmt.Errorf("setuid %d: %w", r.UID, err)
	}
	return nil
}
