// Package containerinit is what runs first in a container of the local node: started by the
// node in a new mount namespace (and, for a container in its image, PID and UTS namespaces), it
// mounts the container's volumes (and its image's root), then replaces itself with the container's
// command. It imports only the standard library and filepath-securejoin, so that the small
// localnode-exec binary (cmd/localnode-exec) starting each container costs little; prowl runs it
// too, as `prowl localnode-exec`, where that binary is absent.
package containerinit

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// Env carries a container's launch spec to the helper process that sets up its mounts.
const Env = "PROWL_LOCALNODE_EXEC"

// Launch is what the helper needs: the container's mounts, working dir and command.
type Launch struct {
	Mounts  []Mount  `json:"mounts"`
	WorkDir string   `json:"workDir,omitempty"`
	Argv    []string `json:"argv"`
	// Root, when set, is the container's image: the command runs inside it.
	Root *Root `json:"root,omitempty"`
}

// Mount is one volume: Source bind-mounted at Target.
type Mount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// Exec is the helper's main: started in a new mount namespace, it makes the namespace's mounts private,
// bind-mounts each volume at its path (inside the container's image when it has one), and
// replaces itself with the container's command. It returns only on failure, with the code to exit
// with.
func Exec() int {
	var l Launch
	if err := json.Unmarshal([]byte(os.Getenv(Env)), &l); err != nil {
		fmt.Fprintf(os.Stderr, "localnode: bad launch spec: %v\n", err)
		return 127
	}
	if err := os.Unsetenv(Env); err != nil {
		return 127
	}
	// Parents before children, as container runtimes order them (containerd's sortMounts): a
	// cache at /home/prow/go/pkg must go on top of the code volume at /home/prow/go, not under it.
	sort.SliceStable(l.Mounts, func(i, j int) bool { return mountDepth(l.Mounts[i].Target) < mountDepth(l.Mounts[j].Target) })
	if l.Root != nil {
		return execInImage(l)
	}
	// Open the command before mounting: a volume (clonerefs-tmp at /tmp, say) may hide its path.
	// The descriptor is kept open across exec so that scripts run by path work too.
	path := l.Argv[0]
	if filepath.Base(path) == path {
		if p, err := lookPath(path); err == nil {
			path = p
		}
	}
	fd, openErr := syscall.Open(path, syscall.O_RDONLY, 0)
	sources := openSources(l.Mounts)
	if err := makePrivate(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 127
	}
	if err := bindVolumes("", l.Mounts, sources); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 127
	}
	if l.WorkDir != "" {
		if err := os.MkdirAll(l.WorkDir, 0o755); err == nil {
			_ = os.Chdir(l.WorkDir)
		}
	}
	if openErr == nil {
		path = fmt.Sprintf("/proc/self/fd/%d", fd)
	}
	err := syscall.Exec(path, l.Argv, os.Environ())
	fmt.Fprintf(os.Stderr, "localnode: run %s: %v\n", l.Argv[0], err)
	return 127
}

// openSources opens each mount's source first, to mount it through its descriptor: an earlier
// mount (/tmp) must not hide a later one's source (a repository under /tmp).
func openSources(mounts []Mount) []string {
	sources := make([]string, len(mounts))
	for i, m := range mounts {
		sources[i] = m.Source
		if sfd, err := syscall.Open(m.Source, oPath|syscall.O_CLOEXEC, 0); err == nil {
			sources[i] = fmt.Sprintf("/proc/self/fd/%d", sfd)
		}
	}
	return sources
}

// makePrivate stops anything mounted in this namespace from leaking back to the host.
func makePrivate() error {
	if err := syscall.Mount("", "/", "", syscall.MS_PRIVATE|syscall.MS_REC, ""); err != nil {
		return fmt.Errorf("localnode: make mounts private: %w (Linux mount namespaces need root)", err)
	}
	return nil
}

// bindVolumes bind-mounts each source at its target under root ("" for the host's filesystem,
// where a missing mount point is created: the namespace shares it). A file is mounted on a file.
func bindVolumes(root string, mounts []Mount, sources []string) error {
	for i, m := range mounts {
		target := m.Target
		if root != "" {
			var err error
			if target, err = securejoin.SecureJoin(root, m.Target); err != nil {
				return fmt.Errorf("localnode: mount point %s: %w", m.Target, err)
			}
		}
		if err := makeMountPoint(sources[i], target); err != nil {
			return fmt.Errorf("localnode: mount point %s: %w", m.Target, err)
		}
		if err := syscall.Mount(sources[i], target, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
			return fmt.Errorf("localnode: mount %s at %s: %w", m.Source, m.Target, err)
		}
		if m.ReadOnly {
			_ = syscall.Mount("", target, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, "")
		}
	}
	return nil
}

// makeMountPoint makes target a directory, or an empty file when source is a file.
func makeMountPoint(source, target string) error {
	if info, err := os.Stat(source); err == nil && !info.IsDir() {
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		return f.Close()
	}
	return os.MkdirAll(target, 0o755)
}

// mountDepth counts a mount target's path components.
func mountDepth(target string) int {
	return len(strings.Split(strings.Trim(filepath.Clean(target), "/"), "/"))
}

// lookPath finds name in $PATH, as a shell would.
func lookPath(name string) (string, error) {
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		p := filepath.Join(dir, name)
		if info, err := os.Stat(p); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH", name)
}

// oPath is Linux's O_PATH, which the syscall package does not name: a descriptor that only
// points at a file, enough to mount it.
const oPath = 0x200000
