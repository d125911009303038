// Package clonerefs is the code behind the clonerefs pod utility: it checks out each repository a
// job tests, with its pull requests merged, and records what it did for initupload.
package clonerefs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"k8s.io/utils/clock"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/downwardapi"
	"github.com/prowl-ci/prowl/internal/podutils/metadata"
	"github.com/prowl-ci/prowl/internal/podutils/options"
)

// Run clones every ref in parallel and writes the records to o.Log. A failed clone is recorded,
// not returned: initupload reports it and ends the run. The error is for failures to record.
func Run(ctx context.Context, o *options.CloneRefs) error {
	return run(ctx, o, clock.RealClock{})
}

// run is Run with the clock that times the records' durations.
func run(ctx context.Context, o *options.CloneRefs, clk clock.PassiveClock) error {
	if o.GitUserName == "" {
		o.GitUserName = options.DefaultGitUserName
	}
	if o.GitUserEmail == "" {
		o.GitUserEmail = options.DefaultGitUserEmail
	}
	// The SSH command is the same for every repository: its known_hosts file is written once,
	// and removed when the clones are done.
	tmp, err := os.MkdirTemp("", "clonerefs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	ssh, sshErr := sshCommand(o, tmp)
	records := make([]metadata.CloneRecord, len(o.GitRefs))
	var wg sync.WaitGroup
	limit := make(chan struct{}, max(o.MaxParallelWorkers, len(o.GitRefs), 1))
	for i, refs := range o.GitRefs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			limit <- struct{}{}
			defer func() { <-limit }()
			records[i] = cloneRepo(ctx, clk, o, refs, ssh, sshErr)
		}()
	}
	wg.Wait()
	raw, err := json.MarshalIndent(records, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(o.Log), 0o755); err != nil {
		return fmt.Errorf("write clone records: %w", err)
	}
	return os.WriteFile(o.Log, raw, 0o644)
}

// cloner runs the git commands of one repository and records them.
type cloner struct {
	ctx    context.Context
	clk    clock.PassiveClock
	dir    string
	env    []string
	record *metadata.CloneRecord
}

func (c *cloner) git(args ...string) (string, error) {
	start := c.clk.Now()
	cmd := exec.CommandContext(c.ctx, "git", args...)
	cmd.Dir = c.dir
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	rec := metadata.Command{Command: "git " + strings.Join(redact(args), " "), Output: string(out), Duration: int64(c.clk.Since(start))}
	if err != nil {
		rec.Error = err.Error()
	}
	c.record.Commands = append(c.record.Commands, rec)
	if err != nil {
		return string(out), fmt.Errorf("git %s: %w", args[0], err)
	}
	return strings.TrimSpace(string(out)), nil
}

// redact hides credentials in a URL argument.
func redact(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if at := strings.Index(a, "@"); strings.Contains(a, "://") && at > 0 && strings.Index(a, "://") < at {
			scheme := a[:strings.Index(a, "://")+3]
			a = scheme + "xxxxx" + a[at:]
		}
		out[i] = a
	}
	return out
}

// remote is where a ref is fetched from: its clone_uri, or GitHub over SSH when keys are mounted
// and over HTTPS otherwise. Credentials never go into the URL (they would show in the clone
// records); gitEnv hands them to git through its config.
func remote(o *options.CloneRefs, r prowv1.Refs) string {
	if r.CloneURI != "" {
		return r.CloneURI
	}
	if len(o.KeyFiles) > 0 {
		return fmt.Sprintf("git@github.com:%s/%s.git", r.Org, r.Repo)
	}
	return fmt.Sprintf("https://github.com/%s/%s.git", r.Org, r.Repo)
}

// cloneRepo checks out one repository with its pull requests merged, and records what it ran.
func cloneRepo(ctx context.Context, clk clock.PassiveClock, o *options.CloneRefs, r prowv1.Refs, ssh string, sshErr error) metadata.CloneRecord {
	start := clk.Now()
	rec := metadata.CloneRecord{Refs: r}
	dir := filepath.Join(o.SrcRoot, "src", downwardapi.RepoPath(r))
	uri := remote(o, r)
	env, err := gitEnv(o, uri, ssh)
	if sshErr != nil {
		err = sshErr
	}
	c := &cloner{ctx: ctx, clk: clk, dir: dir, record: &rec, env: env}
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err == nil {
		err = c.checkOutBase(o, r, uri)
	}
	if err == nil {
		err = c.mergePulls(r, uri, env)
	}
	if err == nil && !r.SkipSubmodules && len(r.SparseCheckoutFiles) == 0 {
		// A sparse checkout implies skip_submodules, as in Prow.
		_, err = c.git("submodule", "update", "--init", "--recursive")
	}
	if err == nil {
		rec.FinalSHA, err = c.git("rev-parse", "HEAD")
	}
	if err != nil {
		rec.Failed = true
		rec.Commands = append(rec.Commands, metadata.Command{Command: "# clone failed", Error: err.Error()})
	}
	rec.Duration = int64(clk.Since(start))
	return rec
}

// fetchArgs are the options of the base's fetches, as Prow's clonerefs sets them: --depth for
// clone_depth, --filter=blob:none for blobless_fetch (the blobs come when checkout needs them),
// and for sparse_checkout_files a depth of 1, the filter and no tags.
func fetchArgs(r prowv1.Refs) []string {
	depth := r.CloneDepth
	sparse := len(r.SparseCheckoutFiles) > 0
	if sparse {
		depth = 1
	}
	var args []string
	if depth > 0 {
		args = append(args, "--depth", strconv.Itoa(depth))
	}
	if blobless(r) || sparse {
		args = append(args, "--filter=blob:none")
	}
	if sparse {
		args = append(args, "--no-tags")
	}
	return args
}

func blobless(r prowv1.Refs) bool { return r.BloblessFetch != nil && *r.BloblessFetch }

// checkOutBase makes the repository, fetches the base and checks it out on its branch, with only
// sparse_checkout_files in the working tree when they are set.
func (c *cloner) checkOutBase(o *options.CloneRefs, r prowv1.Refs, uri string) error {
	steps := [][]string{{"init"}, {"config", "user.name", o.GitUserName}, {"config", "user.email", o.GitUserEmail}}
	if len(r.SparseCheckoutFiles) > 0 {
		steps = append(steps, []string{"sparse-checkout", "init"})
	}
	steps = append(steps, append(append([]string{"fetch"}, fetchArgs(r)...), uri, r.BaseRef))
	for _, s := range steps {
		if _, err := c.git(s...); err != nil {
			return err
		}
	}
	base := "FETCH_HEAD"
	if r.BaseSHA != "" {
		base = r.BaseSHA
		if _, err := c.git("cat-file", "-e", r.BaseSHA+"^{commit}"); err != nil {
			// A shallow fetch may not hold the base SHA: fetch it by name.
			if _, err := c.git(append(append([]string{"fetch"}, fetchArgs(r)...), uri, r.BaseSHA)...); err != nil {
				return err
			}
		}
	}
	steps = nil
	if len(r.SparseCheckoutFiles) > 0 {
		steps = append(steps, append([]string{"sparse-checkout", "set"}, r.SparseCheckoutFiles...))
	}
	steps = append(steps, []string{"checkout", "-q", base}, []string{"branch", "--force", r.BaseRef}, []string{"checkout", "-q", r.BaseRef})
	for _, s := range steps {
		if _, err := c.git(s...); err != nil {
			return err
		}
	}
	return nil
}

// mergePulls fetches and merges each pull request in order. Merges get fixed dates (the base
// commit's, plus a second per merge) so the merged SHA is the same on every run of the same refs.
func (c *cloner) mergePulls(r prowv1.Refs, uri string, env []string) error {
	defer func() { c.env = env }()
	baseTime, err := c.git("show", "-s", "--format=%ct", "HEAD")
	if err != nil {
		return err
	}
	when, _ := strconv.ParseInt(baseTime, 10, 64)
	var args []string
	if r.CloneDepth > 0 {
		args = append(args, "--depth", strconv.Itoa(r.CloneDepth))
	}
	if blobless(r) {
		args = append(args, "--filter=blob:none")
	}
	for i, p := range r.Pulls {
		ref := p.Ref
		if ref == "" {
			ref = fmt.Sprintf("pull/%d/head", p.Number)
		}
		if _, err := c.git(append(append([]string{"fetch"}, args...), uri, ref)...); err != nil {
			return err
		}
		head := "FETCH_HEAD"
		if p.SHA != "" {
			head = p.SHA
		}
		date := fmt.Sprintf("@%d +0000", when+int64(i)+1)
		c.env = append(env[:len(env):len(env)], "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)
		if _, err := c.git("merge", "--no-ff", "--no-stat", "-m", fmt.Sprintf("Merge pull request #%d", p.Number), head); err != nil {
			_, _ = c.git("merge", "--abort")
			return err
		}
	}
	return nil
}

// gitEnv is the environment git runs in for one remote: no prompts; the OAuth token as an
// Authorization header and the cookie file, both scoped to the remote's host through git's own
// config variables (GIT_CONFIG_COUNT, so they reach no other host and show in no command line);
// and ssh, the SSH command, when keys are mounted.
func gitEnv(o *options.CloneRefs, uri, ssh string) ([]string, error) {
	env := append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	var config [][2]string
	if u, err := url.Parse(uri); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.User == nil {
		scope := "http." + u.Scheme + "://" + u.Host + "/"
		if o.OauthTokenFile != "" {
			token, err := os.ReadFile(o.OauthTokenFile)
			if err != nil {
				return nil, fmt.Errorf("read oauth_token_file: %w", err)
			}
			// GitHub takes any user name with a token; x-access-token is what App tokens need.
			basic := base64.StdEncoding.EncodeToString([]byte("x-access-token:" + strings.TrimSpace(string(token))))
			config = append(config, [2]string{scope + ".extraHeader", "Authorization: Basic " + basic})
		}
		if o.CookiePath != "" {
			if _, err := os.Stat(o.CookiePath); err != nil {
				return nil, fmt.Errorf("cookie_path: %w", err)
			}
			config = append(config, [2]string{scope + ".cookieFile", o.CookiePath})
		}
	}
	env = append(env, "GIT_CONFIG_COUNT="+strconv.Itoa(len(config)))
	for i, kv := range config {
		env = append(env, fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", i, kv[0]), fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", i, kv[1]))
	}
	if ssh != "" {
		env = append(env, "GIT_SSH_COMMAND="+ssh)
	}
	return env, nil
}

// sshCommand is the SSH command with the mounted keys, checking hosts against the configured
// fingerprints, which it writes as a known_hosts file into dir; empty without keys.
func sshCommand(o *options.CloneRefs, dir string) (string, error) {
	if len(o.KeyFiles) == 0 {
		return "", nil
	}
	ssh := []string{"ssh", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes"}
	for _, k := range o.KeyFiles {
		// A key secret mounts a directory of keys, or a single key file.
		if info, err := os.Stat(k); err == nil && info.IsDir() {
			entries, _ := os.ReadDir(k)
			for _, e := range entries {
				if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
					ssh = append(ssh, "-i", filepath.Join(k, e.Name()))
				}
			}
		} else {
			ssh = append(ssh, "-i", k)
		}
	}
	if len(o.HostFingerprints) == 0 {
		return strings.Join(append(ssh, "-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no"), " "), nil
	}
	known := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(known, []byte(strings.Join(o.HostFingerprints, "\n")+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write host fingerprints: %w", err)
	}
	return strings.Join(append(ssh, "-o", "UserKnownHostsFile="+known, "-o", "StrictHostKeyChecking=yes"), " "), nil
}
