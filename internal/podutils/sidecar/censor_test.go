package sidecar

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prowl-ci/prowl/internal/podutils/options"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// copyTree copies src into dst, leaving out the files named link: upstream they are symbolic
// links (to ./first and ./encoded.txt) that the copy into ../shared turned into plain files, and
// Prow leaves links out of censoring and of the expected output.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if d.Name() == "link" {
			return nil
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, raw, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func secretDirs(t *testing.T) []string {
	t.Helper()
	root := testutil.SharedTestdata(t, "prow", "sidecar", "secrets")
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		dirs = append(dirs, filepath.Join(root, e.Name()))
	}
	return dirs
}

// TestCensoringReproducesProwFixtures censors Prow's sidecar inputs with its secrets and compares
// every file with Prow's expected output.
func TestCensoringReproducesProwFixtures(t *testing.T) {
	t.Parallel()
	fixtures := testutil.SharedTestdata(t, "prow", "sidecar")
	work := t.TempDir()
	copyTree(t, filepath.Join(fixtures, "input"), work)
	c, err := LoadSecrets(secretDirs(t), 0, 64) // a tiny buffer: secrets span buffer boundaries
	if err != nil {
		t.Fatal(err)
	}
	logs, _ := filepath.Glob(filepath.Join(work, "logs", "*.log"))
	co := &options.CensoringOptions{ExcludeDirectories: []string{"**/exclude"}}
	if err := censorAll(c, co, logs, []string{filepath.Join(work, "artifacts")}); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(fixtures, "output")
	err = filepath.WalkDir(want, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		expected, _ := os.ReadFile(p)
		got, err := os.ReadFile(filepath.Join(work, rel))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		if !bytes.Equal(got, expected) {
			t.Errorf("%s censored as\n%s\nwant\n%s", rel, got, expected)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCensoringArchives censors inside a .tar.gz, entry by entry.
func TestCensoringArchives(t *testing.T) {
	t.Parallel()
	fixtures := testutil.SharedTestdata(t, "prow", "sidecar")
	raw, err := os.ReadFile(filepath.Join(fixtures, "archives", "archive.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "archive.tar.gz")
	if err := os.WriteFile(archive, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadSecrets(secretDirs(t), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.File(archive); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	seen := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		got, _ := io.ReadAll(tr)
		want, err := os.ReadFile(filepath.Join(fixtures, "output", "artifacts", "archive", h.Name))
		if err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s in the archive: %q, want %q", h.Name, got, want)
		}
		seen++
	}
	if seen != 2 {
		t.Errorf("archive has %d files, want 2", seen)
	}
}

func TestStreamKeepsLengthsAndSkipsShortValues(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, v := range map[string]string{"token": "s3cr3t-value", "flag": "true", "tiny": "ab"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, err := LoadSecrets([]string{dir}, 0, 4)
	if err != nil {
		t.Fatal(err)
	}
	in := strings.Repeat("ab true s3cr3t-value ", 50)
	var out bytes.Buffer
	if err := c.Stream(&out, strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if want := strings.ReplaceAll(in, "s3cr3t-value", "XXXXXXXXXXXX"); out.String() != want {
		t.Errorf("got %q", out.String())
	}
}
