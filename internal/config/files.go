package config

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ignoreFile is the name of the file that lists, one glob a line, the files and directories beside
// and below it that the job config loader skips, as Prow's .prowignore does.
const ignoreFile = ".prowignore"

// ignoreRule is one line of a .prowignore: a small part of gitignore's rules (globs relative to the
// .prowignore's directory, or matching a base name; a trailing / matches directories only; #
// comments), written here because no kept library does just that.
type ignoreRule struct {
	dir, pattern string
	dirOnly      bool
}

func (r ignoreRule) matches(p string, isDir bool) bool {
	if r.dirOnly && !isDir {
		return false
	}
	rel, err := filepath.Rel(r.dir, p)
	if err != nil || strings.HasPrefix(rel, "..") {
		return false
	}
	if ok, _ := filepath.Match(r.pattern, rel); ok {
		return true
	}
	if !strings.Contains(r.pattern, "/") {
		ok, _ := filepath.Match(r.pattern, filepath.Base(p))
		return ok
	}
	return false
}

// hidden reports whether a directory entry is one the loader never reads: Kubernetes' own entries
// in a mounted ConfigMap or Secret (..data, ..2026_12_01_22_00_00.123456789, ..data_tmp), and
// hidden directories (.git, .github). Hidden files other than Kubernetes' are read when they are
// YAML, as Prow reads them.
func hidden(name string, isDir bool) bool {
	return strings.HasPrefix(name, "..") || (isDir && strings.HasPrefix(name, "."))
}

// fileWalker lists job config files, following symlinks (a ConfigMap's files are symlinks into
// its hidden timestamped directory) and refusing to walk a directory twice (a symlink loop).
type fileWalker struct {
	rules   []ignoreRule
	visited map[string]bool // real paths of the directories walked
	files   []string
	dirs    []string // every directory walked, as the user's path names it
}

func (w *fileWalker) ignored(p string, isDir bool) bool {
	for _, r := range w.rules {
		if r.matches(p, isDir) {
			return true
		}
	}
	return false
}

func (w *fileWalker) readIgnoreFile(dir string) error {
	f, err := os.Open(filepath.Join(dir, ignoreFile))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		w.rules = append(w.rules, ignoreRule{dir: dir, pattern: strings.Trim(line, "/"), dirOnly: strings.HasSuffix(line, "/")})
	}
	return s.Err()
}

// walk lists dir's YAML files and descends into its directories, symlinked ones included.
func (w *fileWalker) walk(dir string) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	if w.visited[real] {
		return nil
	}
	w.visited[real] = true
	w.dirs = append(w.dirs, dir)
	if err := w.readIgnoreFile(dir); err != nil {
		return fmt.Errorf("read %s: %w", filepath.Join(dir, ignoreFile), err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		isDir := e.IsDir()
		if e.Type()&os.ModeSymlink != 0 {
			info, err := os.Stat(p)
			if err != nil {
				continue // a dangling link, as a ConfigMap swap can leave for a moment
			}
			isDir = info.IsDir()
		}
		if hidden(e.Name(), isDir) || w.ignored(p, isDir) {
			continue
		}
		if isDir {
			if err := w.walk(p); err != nil {
				return err
			}
			continue
		}
		if ext := filepath.Ext(p); ext == ".yaml" || ext == ".yml" {
			w.files = append(w.files, p)
		}
	}
	return nil
}

// jobFiles lists the job config files under path: path itself when it is a file (or a symlink to
// one), else every .yaml and .yml file below it in walk order (each directory's entries by name), less hidden entries and those a
// .prowignore excludes. It also returns the directories it walked, for the watcher.
func jobFiles(path string) (files, dirs []string, err error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if !info.IsDir() {
		return []string{path}, nil, nil
	}
	w := &fileWalker{visited: map[string]bool{}}
	if err := w.walk(path); err != nil {
		return nil, nil, err
	}
	return w.files, w.dirs, nil
}

// readFile reads a config file, refusing anything but a regular file (through symlinks): a
// FIFO would block the load, and with it every later reload, until someone wrote to it.
func readFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (mode %s): config files must be plain files", path, info.Mode().Type())
	}
	return os.ReadFile(path)
}
