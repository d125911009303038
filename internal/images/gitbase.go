package images

import (
	"crypto/sha256"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// HostGitBase names the default base of the images that need git: the built-in static base plus
// a layer of this machine's git (a Debian-style install: /usr/bin/git, /usr/lib/git-core), only
// what clonerefs runs, with the shared libraries those programs load. It needs no registry, so
// `make images` works offline; it exists only for the platform of this machine's git.
const HostGitBase = "host git"

// errNoHostGit says this machine's git cannot serve a platform (another architecture, or no git).
var errNoHostGit = errors.New("no git for this platform on this machine")

// hostGitPrograms are the programs clonerefs's git runs: git itself (its builtins, including
// upload-pack for file:// fetches, are links to it under git-core), the http(s) remote helper,
// `git submodule` (a shell script, with the scripts it sources and the basename and sed it calls),
// and /bin/sh, through which git starts upload-pack for a local repository.
var hostGitPrograms = []string{
	"/usr/bin/git", "/usr/lib/git-core/git", "/usr/lib/git-core/git-remote-http",
	"/usr/lib/git-core/git-submodule", "/usr/lib/git-core/git-sh-setup", "/usr/lib/git-core/git-sh-i18n",
	"/bin/sh", "/usr/bin/basename", "/usr/bin/sed",
}

// hostGitTemplates is the directory `git init` copies from; without it git warns on every init.
const hostGitTemplates = "/usr/share/git-core/templates"

// elfArch maps an ELF machine to the image architecture it runs on.
var elfArch = map[elf.Machine]string{elf.EM_X86_64: "amd64", elf.EM_AARCH64: "arm64", elf.EM_386: "386", elf.EM_PPC64: "ppc64le", elf.EM_S390: "s390x", elf.EM_RISCV: "riscv64"}

// libraryDirs are where the dynamic loader looks for a library of an architecture when there is
// no ld.so.cache (a multiarch directory first, as Debian's loader does).
func libraryDirs(m elf.Machine) []string {
	triplet := map[elf.Machine]string{elf.EM_X86_64: "x86_64-linux-gnu", elf.EM_AARCH64: "aarch64-linux-gnu", elf.EM_386: "i386-linux-gnu", elf.EM_PPC64: "powerpc64le-linux-gnu", elf.EM_S390: "s390x-linux-gnu", elf.EM_RISCV: "riscv64-linux-gnu"}[m]
	return []string{"/lib/" + triplet, "/usr/lib/" + triplet, "/lib64", "/usr/lib64", "/lib", "/usr/lib"}
}

// hostGitBase is the HostGitBase image for p, read from the filesystem at root ("/" but in
// tests): errNoHostGit when root's git is not a p binary.
func hostGitBase(root string, p v1.Platform, created time.Time) (v1.Image, error) {
	arch, err := gitArch(root)
	if err != nil {
		return nil, err
	}
	if p.OS != "linux" || p.Architecture != arch {
		return nil, fmt.Errorf("%w: its git is linux/%s", errNoHostGit, arch)
	}
	files, err := hostGitFiles(root)
	if err != nil {
		return nil, err
	}
	layer, err := tarLayer(files, created)
	if err != nil {
		return nil, err
	}
	base, err := builtinBase(created)
	if err != nil {
		return nil, err
	}
	return mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{CreatedBy: "prowl images: this machine's git (" + strings.Join(hostGitPrograms, " ") + ") and its shared libraries", Created: v1.Time{Time: created}},
	})
}

// gitArch is the architecture of root's git.
func gitArch(root string) (string, error) {
	f, err := elf.Open(filepath.Join(root, hostGitPrograms[0]))
	if err != nil {
		return "", fmt.Errorf("%w: %w (install git, or set CLONEREFS_BASE to an image with git)", errNoHostGit, err)
	}
	defer func() { _ = f.Close() }()
	arch, ok := elfArch[f.Machine]
	if !ok {
		return "", fmt.Errorf("%w: its git is for ELF machine %s", errNoHostGit, f.Machine)
	}
	return arch, nil
}

// hostGitFiles collects the programs, the builtins' links, the templates and, following each ELF
// file's interpreter and DT_NEEDED entries as the dynamic loader does, every shared library.
func hostGitFiles(root string) ([]file, error) {
	c := &collector{root: root, entries: map[string]file{}}
	for _, p := range hostGitPrograms {
		if _, err := c.add(p, 0); err != nil {
			return nil, fmt.Errorf("git base: %w", err)
		}
	}
	if err := c.addLinksTo("/usr/lib/git-core", "git", "git-remote-http"); err != nil {
		return nil, err
	}
	err := filepath.WalkDir(filepath.Join(root, hostGitTemplates), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		_, err = c.add("/"+filepath.ToSlash(rel), 0)
		return err
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("git base: %w", err)
	}
	if err := c.addLibraries(); err != nil {
		return nil, fmt.Errorf("git base: %w", err)
	}
	return c.files(), nil
}

// collector gathers files from root under their absolute paths, keeping every symlink on the way
// (so /bin -> usr/bin and a library's soname link are in the image as on the machine).
type collector struct {
	root    string
	entries map[string]file
}

// add records p, each symlink met while resolving it, and returns p's resolved path.
func (c *collector) add(p string, depth int) (string, error) {
	if depth > 40 {
		return "", fmt.Errorf("%s: too many symbolic links", p)
	}
	parts := strings.Split(strings.Trim(path.Clean(p), "/"), "/")
	cur := "/"
	for i, part := range parts {
		next := path.Join(cur, part)
		host := filepath.Join(c.root, next)
		info, err := os.Lstat(host)
		if err != nil {
			return "", err
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(host)
			if err != nil {
				return "", err
			}
			c.entries[next] = file{path: next[1:], mode: 0o777, symlink: target}
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(next), target)
			}
			return c.add(path.Join(append([]string{target}, parts[i+1:]...)...), depth+1)
		case info.IsDir():
			cur = next
		case i != len(parts)-1:
			return "", fmt.Errorf("%s: %s is not a directory", p, next)
		default:
			data, err := os.ReadFile(host)
			if err != nil {
				return "", err
			}
			c.entries[next] = file{path: next[1:], mode: int64(info.Mode().Perm()), data: data}
			cur = next
		}
	}
	return cur, nil
}

// addLinksTo adds the symlinks in dir that point at one of targets (git's builtins).
func (c *collector) addLinksTo(dir string, targets ...string) error {
	entries, err := os.ReadDir(filepath.Join(c.root, dir))
	if err != nil {
		return fmt.Errorf("git base: %w", err)
	}
	for _, e := range entries {
		if e.Type()&fs.ModeSymlink == 0 {
			continue
		}
		p := path.Join(dir, e.Name())
		target, err := os.Readlink(filepath.Join(c.root, p))
		if err != nil {
			return err
		}
		for _, t := range targets {
			if target == t {
				c.entries[p] = file{path: p[1:], mode: 0o777, symlink: target}
			}
		}
	}
	return nil
}

// addLibraries adds, until nothing new appears, the interpreter and the DT_NEEDED libraries of
// every ELF file collected, searched in the loader's default directories.
func (c *collector) addLibraries() error {
	done := map[string]bool{}
	for {
		var todo []string
		for p, f := range c.entries {
			if f.symlink == "" && !done[p] && strings.HasPrefix(string(f.data), elf.ELFMAG) {
				todo = append(todo, p)
			}
		}
		if len(todo) == 0 {
			return nil
		}
		sort.Strings(todo)
		for _, p := range todo {
			done[p] = true
			if err := c.addNeeded(p); err != nil {
				return err
			}
		}
	}
}

// addNeeded adds the interpreter and libraries the ELF file at p names.
func (c *collector) addNeeded(p string) error {
	f, err := elf.Open(filepath.Join(c.root, p))
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	defer func() { _ = f.Close() }()
	for _, prog := range f.Progs {
		if prog.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, prog.Filesz)
		if _, err := prog.ReadAt(b, 0); err != nil {
			return fmt.Errorf("%s: interpreter: %w", p, err)
		}
		if _, err := c.add(strings.TrimRight(string(b), "\x00"), 0); err != nil {
			return fmt.Errorf("%s: interpreter: %w", p, err)
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	for _, lib := range libs {
		if err := c.addLibrary(lib, f.Machine); err != nil {
			return fmt.Errorf("%s needs %s: %w", p, lib, err)
		}
	}
	return nil
}

func (c *collector) addLibrary(name string, m elf.Machine) error {
	for _, dir := range libraryDirs(m) {
		if _, err := os.Stat(filepath.Join(c.root, dir, name)); err == nil {
			_, err := c.add(path.Join(dir, name), 0)
			return err
		}
	}
	return fmt.Errorf("not found in %s", strings.Join(libraryDirs(m), ", "))
}

// files are the entries sorted by path, a regular file whose content an earlier one has written
// as a hard link to it (Debian ships /usr/bin/git and git-core/git as two copies).
func (c *collector) files() []file {
	paths := make([]string, 0, len(c.entries))
	for p := range c.entries {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	first := map[[32]byte]string{}
	out := make([]file, 0, len(paths))
	for _, p := range paths {
		f := c.entries[p]
		if f.symlink == "" {
			sum := sha256.Sum256(f.data)
			if earlier, ok := first[sum]; ok && len(f.data) > 0 {
				f = file{path: f.path, mode: f.mode, hardlink: earlier}
			} else {
				first[sum] = f.path
			}
		}
		out = append(out, f)
	}
	return out
}
