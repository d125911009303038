package images_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/images"
	"github.com/prowl-ci/prowl/internal/podutils/metadata"
	"github.com/prowl-ci/prowl/internal/podutils/options"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// TestCloneRefsImageOnDefaultGitBase builds the clonerefs image with no CLONEREFS_BASE, as
// `make images` does offline: it is built on this machine's git for this machine's platform and
// says why the other platform is left out. Its root filesystem, unpacked and entered with chroot,
// runs the image's entrypoint with no command given, as a Pod would: clonerefs checks out one
// repository over HTTP (git-remote-http and its libraries) with a pull request merged and one
// over file:// (git-upload-pack through /bin/sh), using only the image's git.
func TestCloneRefsImageOnDefaultGitBase(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: chroot into the image needs root")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("skipping: this machine has no git to build the default git base from")
	}
	host := v1.Platform{OS: "linux", Architecture: goarch(t)}
	other := v1.Platform{OS: "linux", Architecture: map[string]string{"amd64": "arm64"}[host.Architecture]}
	if other.Architecture == "" {
		other.Architecture = "amd64"
	}
	o := entrypointOptions(t, t.TempDir())
	o.Specs = []images.Spec{{Name: "clonerefs", Package: "./cmd/clonerefs", NeedsGit: true}}
	o.Platforms = []v1.Platform{host, other}
	r := build(t, o)[0]
	if _, ok := r.Compressed["linux/"+host.Architecture]; !ok || len(r.Compressed) != 1 {
		t.Fatalf("built %v, want linux/%s only", r.Compressed, host.Architecture)
	}
	if why := r.LeftOut["linux/"+other.Architecture]; !strings.Contains(why, "its git is linux/"+host.Architecture) {
		t.Errorf("left out %v: want linux/%s with the reason", r.LeftOut, other.Architecture)
	}
	t.Logf("clonerefs image for linux/%s: %d bytes compressed", host.Architecture, r.Compressed["linux/"+host.Architecture])

	img := platformImage(t, r.Layout, host)
	root := t.TempDir()
	unpack(t, img, root)
	runtimeDevices(t, root)
	refs, want := repositories(t, root)
	records := runCloneRefs(t, img, root, refs)
	if len(records) != len(refs) {
		t.Fatalf("%d clone records for %d repositories", len(records), len(refs))
	}
	for i, rec := range records {
		if rec.Failed {
			t.Fatalf("clone of %s failed: %+v", refs[i].Repo, rec.Commands)
		}
		dir := filepath.Join(root, "home/prow/go/src/github.com/org", refs[i].Repo)
		for _, f := range want[i] {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("%s: %s missing from the checkout: %v", refs[i].Repo, f, err)
			}
		}
		if rec.FinalSHA == "" {
			t.Errorf("%s: no final_sha recorded", refs[i].Repo)
		}
	}
}

// repositories makes org/repo, served over HTTP on loopback with pull request 1, and org/local,
// a bare repository inside root reached over file://; it returns their refs and the files each
// checkout must hold.
func repositories(t *testing.T, root string) ([]prowv1.Refs, [][]string) {
	t.Helper()
	served := testutil.NewGitRepo(t, "org", "repo")
	pr := served.PullRequest("1", "one.txt", "one\n")
	url := served.ServeHTTP()
	local := testutil.NewGitRepo(t, "org", "local")
	local.Commit("local.txt", "local\n", "second commit")
	local.Git(local.Work, "push", "-q", "origin", "main")
	local.Git(root, "clone", "-q", "--bare", strings.TrimPrefix(local.FileURL(), "file://"), filepath.Join(root, "srv/local.git"))
	return []prowv1.Refs{
			{Org: "org", Repo: "repo", BaseRef: "main", CloneURI: url, Pulls: []prowv1.Pull{{Number: 1, SHA: pr}}},
			{Org: "org", Repo: "local", BaseRef: "main", CloneURI: "file:///srv/local.git"},
		}, [][]string{
			{"README.md", "one.txt"},
			{"README.md", "local.txt"},
		}
}

// runCloneRefs runs img's entrypoint chrooted into root, with the image's environment and
// $CLONEREFS_OPTIONS, and returns the clone records it wrote.
func runCloneRefs(t *testing.T, img v1.Image, root string, refs []prowv1.Refs) []metadata.CloneRecord {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	opts, err := options.Encode(options.CloneRefs{SrcRoot: "/home/prow/go", Log: "/logs/clone.json", GitRefs: refs})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cf.Config.Entrypoint[0])
	cmd.Dir = "/"
	cmd.Env = append(append([]string{}, cf.Config.Env...), "HOME=/root", "CLONEREFS_OPTIONS="+opts)
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("clonerefs in the image: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(root, "logs/clone.json"))
	if err != nil {
		t.Fatal(err)
	}
	var records []metadata.CloneRecord
	if err := json.Unmarshal(raw, &records); err != nil {
		t.Fatal(err)
	}
	return records
}

// runtimeDevices makes the devices the OCI runtime spec gives every container (null, zero, full,
// random, urandom) in root: clonerefs runs git with no stdin, which Go's os/exec opens from
// /dev/null, and git's temporary files take their names from /dev/urandom.
func runtimeDevices(t *testing.T, root string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, "dev"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, minor := range map[string]int{"null": 3, "zero": 5, "full": 7, "random": 8, "urandom": 9} {
		p := filepath.Join(root, "dev", name)
		if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|minor); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o666); err != nil {
			t.Fatal(err)
		}
	}
}
