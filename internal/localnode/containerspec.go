package localnode

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
)

// defaultPath is the PATH a container gets when neither it nor its image sets one (containerd's).
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// imageArgv is the command a container runs, as Kubernetes merges it with the image's: command
// replaces the image's Entrypoint and drops its Cmd; args alone replace the Cmd.
func imageArgv(c corev1.Container, cfg v1.Config) []string {
	switch {
	case len(c.Command) > 0:
		return append(append([]string{}, c.Command...), c.Args...)
	case len(c.Args) > 0:
		return append(append([]string{}, cfg.Entrypoint...), c.Args...)
	}
	return append(append([]string{}, cfg.Entrypoint...), cfg.Cmd...)
}

// mergeEnv is the image's Env overridden by the container's own variables (same name: the
// container's value, in the image's place), then PATH, HOME and HOSTNAME where neither sets them.
func mergeEnv(image, own []string, home, hostname string) []string {
	var out []string
	at := map[string]int{}
	for _, kv := range append(append([]string{}, image...), own...) {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := at[k]; ok {
			out[i] = kv
			continue
		}
		at[k] = len(out)
		out = append(out, kv)
	}
	for _, d := range [][2]string{{"PATH", defaultPath}, {"HOME", home}, {"HOSTNAME", hostname}} {
		if _, ok := at[d[0]]; !ok {
			out = append(out, d[0]+"="+d[1])
		}
	}
	return out
}

// identity is who a container's process runs as, and its home directory.
type identity struct {
	uid, gid uint32
	groups   []uint32
	home     string
}

// containerIdentity applies securityContext (the container's over the Pod's) over the image's
// User: runAsUser, runAsGroup, and fsGroup plus supplementalGroups as extra groups.
func containerIdentity(pod *corev1.Pod, c corev1.Container, cfg v1.Config, layers []string) (identity, error) {
	id := identity{home: "/"}
	user, group, _ := strings.Cut(cfg.User, ":")
	if user != "" {
		uid, gid, home, err := lookupUser(user, layers)
		if err != nil {
			return id, fmt.Errorf("the image's user %q: %w", cfg.User, err)
		}
		id.uid, id.gid, id.home = uid, gid, home
	}
	if group != "" {
		gid, err := lookupGroup(group, layers)
		if err != nil {
			return id, fmt.Errorf("the image's group %q: %w", cfg.User, err)
		}
		id.gid = gid
	}
	psc, csc := pod.Spec.SecurityContext, c.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if csc == nil {
		csc = &corev1.SecurityContext{}
	}
	if u := firstSet(csc.RunAsUser, psc.RunAsUser); u != nil {
		id.uid = uint32(*u)
		if _, _, home, err := lookupUser(strconv.FormatInt(*u, 10), layers); err == nil {
			id.home = home
		}
		if group == "" {
			id.gid = 0 // the runtime's default group unless runAsGroup says otherwise
		}
	}
	if g := firstSet(csc.RunAsGroup, psc.RunAsGroup); g != nil {
		id.gid = uint32(*g)
	}
	if psc.FSGroup != nil {
		id.groups = append(id.groups, uint32(*psc.FSGroup))
	}
	for _, g := range psc.SupplementalGroups {
		id.groups = append(id.groups, uint32(g))
	}
	return id, nil
}

func firstSet(vs ...*int64) *int64 {
	for _, v := range vs {
		if v != nil {
			return v
		}
	}
	return nil
}

// lookupUser resolves a user name or number through the image's /etc/passwd (a number needs no
// entry; it then has gid 0 and home /).
func lookupUser(user string, layers []string) (uid, gid uint32, home string, err error) {
	n, numErr := strconv.ParseUint(user, 10, 32)
	home = "/"
	for _, f := range readImageFile(layers, "etc/passwd") {
		if len(f) < 6 {
			continue
		}
		if f[0] == user || (numErr == nil && f[2] == user) {
			u, _ := strconv.ParseUint(f[2], 10, 32)
			g, _ := strconv.ParseUint(f[3], 10, 32)
			return uint32(u), uint32(g), f[5], nil
		}
	}
	if numErr != nil {
		return 0, 0, "", fmt.Errorf("no such user in the image's /etc/passwd")
	}
	return uint32(n), 0, home, nil
}

// lookupGroup resolves a group name or number through the image's /etc/group.
func lookupGroup(group string, layers []string) (uint32, error) {
	if n, err := strconv.ParseUint(group, 10, 32); err == nil {
		return uint32(n), nil
	}
	for _, f := range readImageFile(layers, "etc/group") {
		if len(f) >= 3 && f[0] == group {
			g, err := strconv.ParseUint(f[2], 10, 32)
			return uint32(g), err
		}
	}
	return 0, fmt.Errorf("no such group in the image's /etc/group")
}

// readImageFile reads a colon-separated file from the topmost layer (layers are directories,
// topmost first) that has it.
func readImageFile(layers []string, name string) [][]string {
	for _, l := range layers {
		f, err := os.Open(filepath.Join(l, name))
		if err != nil {
			continue
		}
		defer f.Close()
		var out [][]string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			out = append(out, strings.Split(sc.Text(), ":"))
		}
		return out
	}
	return nil
}
