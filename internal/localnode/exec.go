package localnode

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// ExecEnv carries a container's launch spec to the helper process that sets up its mounts.
const ExecEnv = "PROWL_LOCALNODE_EXEC"

// launch is what the helper needs: the container's mounts, working dir and command.
type launch struct {
	Mounts  []mount  `json:"mounts"`
	WorkDir string   `json:"workDir,omitempty"`
	Argv    []string `json:"argv"`
}

type mount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// Exec is the helper: started in a new mount namespace, it makes the namespace's mounts private,
// bind-mounts each volume at its path, and replaces itself with the container's command. It
// returns only on failure, with the code to exit with.
func Exec() int {
	var l launch
	if err := json.Unmarshal([]byte(os.Getenv(ExecEnv)), &l); err != nil {
		fmt.Fprintf(os.Stderr, "localnode: bad launch spec: %v\n", err)
		return 127
	}
	if err := os.Unsetenv(ExecEnv); err != nil {
		return 127
	}
	// Parents before children, as container runtimes order them (containerd's sortMounts): a
	// cache at /home/prow/go/pkg must go on top of the code volume at /home/prow/go, not under it.
	sort.SliceStable(l.Mounts, func(i, j int) bool { return mountDepth(l.Mounts[i].Target) < mountDepth(l.Mounts[j].Target) })
	// Open the command before mounting: a volume (clonerefs-tmp at /tmp, say) may hide its path.
	// The descriptor is kept open across exec so that scripts run by path work too.
	path := l.Argv[0]
	if filepath.Base(path) == path {
		if p, err := lookPath(path); err == nil {
			path = p
		}
	}
	fd, openErr := syscall.Open(path, syscall.O_RDONLY, 0)
	// Sources too are opened first, and mounted through their descriptors: an earlier mount
	// (/tmp) must not hide a later one's source (a repository under /tmp).
	sources := make([]string, len(l.Mounts))
	for i, m := range l.Mounts {
		sources[i] = m.Source
		if sfd, err := syscall.Open(m.Source, oPath|syscall.O_CLOEXEC, 0); err == nil {
			sources[i] = fmt.Sprintf("/proc/self/fd/%d", sfd)
		}
	}
	// Nothing mounted here may leak back to the host.
	if err := syscall.Mount("", "/", "", syscall.MS_PRIVATE|syscall.MS_REC, ""); err != nil {
		fmt.Fprintf(os.Stderr, "localnode: make mounts private: %v (Linux mount namespaces need root)\n", err)
		return 127
	}
	for i, m := range l.Mounts {
		// The mount point is created on the host's filesystem when missing: the namespace shares it.
		if err := os.MkdirAll(m.Target, 0o755); err != nil {
			fmt.Fprintf(os.Stderr, "localnode: mount point %s: %v\n", m.Target, err)
			return 127
		}
		if err := syscall.Mount(sources[i], m.Target, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
			fmt.Fprintf(os.Stderr, "localnode: mount %s at %s: %v\n", m.Source, m.Target, err)
			return 127
		}
		if m.ReadOnly {
			_ = syscall.Mount("", m.Target, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, "")
		}
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

// mountDepth counts a mount target's path components.
func mountDepth(target string) int {
	return len(strings.Split(strings.Trim(filepath.Clean(target), "/"), "/"))
}

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
