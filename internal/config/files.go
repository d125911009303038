package config

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ignoreFile is the name of the file that lists, one glob a line, the files and directories beside
// and below it that the job config loader skips, as Prow's .prowignore does.
const ignoreFile = ".prowignore"

// jobFiles lists the job config files under path: path itself when it is a file, else every .yaml
// and .yml file below it, sorted, less those a .prowignore excludes. The rules are a small part of
// gitignore's (globs relative to the .prowignore's directory, or matching a base name; a trailing
// / matches directories only; # comments), written here because no kept library does just that.
func jobFiles(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	type rule struct {
		dir, pattern string
		dirOnly      bool
	}
	var rules []rule
	ignored := func(p string, isDir bool) bool {
		for _, r := range rules {
			if r.dirOnly && !isDir {
				continue
			}
			rel, err := filepath.Rel(r.dir, p)
			if err != nil || strings.HasPrefix(rel, "..") {
				continue
			}
			if ok, _ := filepath.Match(r.pattern, rel); ok {
				return true
			}
			if !strings.Contains(r.pattern, "/") {
				if ok, _ := filepath.Match(r.pattern, filepath.Base(p)); ok {
					return true
				}
			}
		}
		return false
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != path && ignored(p, true) {
				return filepath.SkipDir
			}
			f, err := os.Open(filepath.Join(p, ignoreFile))
			if err != nil {
				return nil //nolint:nilerr // no .prowignore here
			}
			defer f.Close()
			s := bufio.NewScanner(f)
			for s.Scan() {
				line := strings.TrimSpace(s.Text())
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				dirOnly := strings.HasSuffix(line, "/")
				rules = append(rules, rule{dir: p, pattern: strings.Trim(line, "/"), dirOnly: dirOnly})
			}
			return s.Err()
		}
		if ext := filepath.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		if !ignored(p, false) {
			files = append(files, p)
		}
		return nil
	})
	return files, err
}
