package sidecar

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/prowl-ci/prowl/internal/podutils/options"
)

// defaultMinimumSecretLength leaves out values too short to be secrets (a "1", a "yes"), which
// would otherwise turn every log into X's.
const defaultMinimumSecretLength = 4

// defaultBufferSize is how much of a file is censored at a time; files stream through.
const defaultBufferSize = 1 << 20

// Censor replaces secrets with X's of the same length.
type Censor struct {
	secrets [][]byte // longest first
	longest int
	buffer  int
}

// LoadSecrets reads every value of every secret mounted in dirs: each file's content, trimmed and
// untrimmed; the passwords and auths of Docker config files; the values of INI-style credential
// files (AWS); and the base64 encoding of each. "true", "false" and values shorter than
// minLength (4 when zero) are left out.
func LoadSecrets(dirs []string, minLength int, bufferSize int) (*Censor, error) {
	if minLength <= 0 {
		minLength = defaultMinimumSecretLength
	}
	if bufferSize <= 0 {
		bufferSize = defaultBufferSize
	}
	values := map[string]bool{}
	add := func(v string) {
		for _, s := range []string{v, strings.TrimSpace(v)} {
			if len(s) < minLength || s == "true" || s == "false" {
				continue
			}
			values[s] = true
			values[base64.StdEncoding.EncodeToString([]byte(s))] = true
		}
	}
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			// Kubernetes keeps a secret's files in a ..data directory and links them; read the links.
			if d.IsDir() && strings.HasPrefix(d.Name(), "..") {
				return filepath.SkipDir
			}
			if d.IsDir() {
				return nil
			}
			raw, err := os.ReadFile(p)
			if err != nil {
				return nil //nolint:nilerr // a link to a directory, or gone: nothing to censor
			}
			add(string(raw))
			for _, v := range structuredValues(raw) {
				add(v)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("load secrets from %s: %w", dir, err)
		}
	}
	c := &Censor{buffer: bufferSize}
	for v := range values {
		c.secrets = append(c.secrets, []byte(v))
		c.longest = max(c.longest, len(v))
	}
	sort.Slice(c.secrets, func(i, j int) bool { return len(c.secrets[i]) > len(c.secrets[j]) })
	if c.buffer < 2*c.longest {
		c.buffer = 2 * c.longest
	}
	return c, nil
}

var iniValue = regexp.MustCompile(`(?m)^\s*[^#;\s=][^=]*=\s*(.+?)\s*$`)

// structuredValues are the values inside credential formats whose file content as a whole would
// not match what a job prints: Docker configs' passwords and auths, INI files' values.
func structuredValues(raw []byte) []string {
	var out []string
	var docker map[string]json.RawMessage
	if json.Unmarshal(raw, &docker) == nil {
		if auths, ok := docker["auths"]; ok {
			_ = json.Unmarshal(auths, &docker)
		}
		for _, entry := range docker {
			var e struct{ Password, Auth string }
			if json.Unmarshal(entry, &e) == nil {
				out = append(out, e.Password, e.Auth)
			}
		}
		return out
	}
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")) {
		for _, m := range iniValue.FindAllSubmatch(raw, -1) {
			out = append(out, string(m[1]))
		}
	}
	return out
}

// Empty reports whether there is nothing to censor.
func (c *Censor) Empty() bool { return c == nil || len(c.secrets) == 0 }

// censorBytes replaces, in place, every secret in b.
func (c *Censor) censorBytes(b []byte) {
	for _, s := range c.secrets {
		for i := 0; ; {
			j := bytes.Index(b[i:], s)
			if j < 0 {
				break
			}
			for k := i + j; k < i+j+len(s); k++ {
				b[k] = 'X'
			}
			i += j + len(s)
		}
	}
}

// Stream copies r to w, censored, holding at most one buffer and the longest secret's length.
func (c *Censor) Stream(w io.Writer, r io.Reader) error {
	buf := make([]byte, 0, c.buffer+c.longest)
	keep := max(c.longest-1, 0)
	for {
		n, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		eof := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !eof {
			return err
		}
		c.censorBytes(buf)
		emit := len(buf)
		if !eof {
			// The tail may hold the start of a secret that the next read completes.
			emit = max(len(buf)-keep, 0)
		}
		if _, werr := w.Write(buf[:emit]); werr != nil {
			return werr
		}
		if eof {
			return nil
		}
		buf = buf[:copy(buf, buf[emit:])]
	}
}

// File censors a file in place, through a temporary file beside it. A .tar.gz or .tgz archive is
// censored entry by entry; censoring keeps every length, so entries stream through unchanged in
// size.
func (c *Censor) File(path string) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".censor-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	if strings.HasSuffix(path, ".tar.gz") || strings.HasSuffix(path, ".tgz") {
		err = c.archive(w, in)
	} else {
		err = c.Stream(w, in)
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("censor %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), info.Mode().Perm()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func (c *Censor) archive(w io.Writer, r io.Reader) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return err
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	gzw := gzip.NewWriter(w)
	tw := tar.NewWriter(gzw)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg {
			if err := c.Stream(tw, tr); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gzw.Close()
}

// censorAll censors the logs and every artifact under the items, in parallel, honouring the
// include and exclude globs (relative to each item directory).
func censorAll(c *Censor, co *options.CensoringOptions, logs, items []string) error {
	concurrency := 10
	if co.CensoringConcurrency != nil && *co.CensoringConcurrency > 0 {
		concurrency = int(*co.CensoringConcurrency)
	}
	var g errgroup.Group
	g.SetLimit(concurrency)
	for _, l := range logs {
		if _, err := os.Stat(l); err == nil {
			g.Go(func() error { return c.File(l) })
		}
	}
	include, exclude := globs(co.IncludeDirectories), globs(co.ExcludeDirectories)
	for _, item := range items {
		err := filepath.WalkDir(item, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			rel, _ := filepath.Rel(item, p)
			rel = filepath.ToSlash(rel)
			if (len(include) > 0 && !matchAny(include, rel)) || matchAny(exclude, rel) {
				return nil
			}
			g.Go(func() error { return c.File(p) })
			return nil
		})
		if err != nil {
			return err
		}
	}
	return g.Wait()
}

// globs compiles patterns where ** crosses directories and * does not; written here as the
// standard library's path.Match has no **.
func globs(patterns []string) []*regexp.Regexp {
	var out []*regexp.Regexp
	for _, p := range patterns {
		var b strings.Builder
		b.WriteString("^")
		for i := 0; i < len(p); i++ {
			switch {
			case strings.HasPrefix(p[i:], "**/"):
				b.WriteString("(?:.*/)?")
				i += 2
			case strings.HasPrefix(p[i:], "**"):
				b.WriteString(".*")
				i++
			case p[i] == '*':
				b.WriteString("[^/]*")
			case p[i] == '?':
				b.WriteString("[^/]")
			default:
				b.WriteString(regexp.QuoteMeta(string(p[i])))
			}
		}
		b.WriteString("(?:/.*)?$")
		if re, err := regexp.Compile(b.String()); err == nil {
			out = append(out, re)
		}
	}
	return out
}

func matchAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}
