// Package forge is the local GitHub `prowl up` runs when it is given no GitHub credentials: the
// repositories it serves over HTTP (git's own git-http-backend, pushes accepted from loopback),
// the part of GitHub's REST API that Trigger and Crier call (pull requests and their files, org
// membership, collaborators, comments, labels, commit statuses), in GitHub's routes and JSON
// shapes, and the webhooks GitHub would send Hook (push, pull_request, issue_comment), signed.
// Its state lives under the data dir and survives restarts; who is trusted comes from
// <data-dir>/members.yaml.
package forge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"k8s.io/utils/clock"
)

// Where the local GitHub keeps its files under the data dir.
const (
	stateFile   = "forge/state.json"
	tokenFile   = "forge/token"
	hmacFile    = "forge/hmac"
	urlFile     = "forge/url"
	membersFile = "members.yaml"
	gitDir      = "git"
	// APIPath is where the REST API is served under the server's URL, as GitHub Enterprise does.
	APIPath = "/api/v3/"
	// localPath is where the calls GitHub has no REST route for are served (a push happened).
	localPath = "/api/prowl/"
	// DefaultBot is the login Hook and Crier act as.
	DefaultBot = "prowl-bot"
	// actAsHeader lets the holder of the token act as another user, as GitHub Enterprise's
	// site admins impersonate users: `prowl pr open --author mallory`.
	actAsHeader = "X-Prowl-As"
	// webhookHeader tells the caller that the webhook its change caused was not delivered.
	webhookHeader = "X-Prowl-Webhook-Error"
)

// TokenPath is the file holding the local GitHub's token, for --github-token-path.
func TokenPath(dataDir string) string { return filepath.Join(dataDir, tokenFile) }

// HMACPath is the file holding the webhook secret the local GitHub signs with, for Hook.
func HMACPath(dataDir string) string { return filepath.Join(dataDir, hmacFile) }

// GitRoot is where the repositories live, as org/repo.git.
func GitRoot(dataDir string) string { return filepath.Join(dataDir, gitDir) }

// MembersPath is the members file.
func MembersPath(dataDir string) string { return filepath.Join(dataDir, membersFile) }

// Options configure a Server.
type Options struct {
	// DataDir holds the state, the token, the webhook secret, members.yaml and the repositories.
	DataDir string
	// URL is where Handler is served (http://127.0.0.1:8889): repositories' html_url and
	// clone_url point under it.
	URL string
	// Self is the prowl binary the repositories' post-receive hooks run.
	Self string
	// Bot is the login the token acts as (DefaultBot when empty).
	Bot string
	// SeedOrg and SeedUser, when set and there is no members file yet, make one with SeedUser a
	// member of SeedOrg.
	SeedOrg, SeedUser string
	// Clock stamps comments, statuses and pull requests; the real clock when nil.
	Clock clock.PassiveClock
	// Webhooks sends the events; http.DefaultClient when nil.
	Webhooks *http.Client
}

// Server is the local GitHub.
type Server struct {
	o      Options
	token  string
	secret []byte

	mu sync.Mutex // guards st and the git refs it changes
	st *state

	hookMu  sync.Mutex // one delivery at a time, in order
	hookURL string
}

// Open loads the state under o.DataDir (making the token and the webhook secret on first use),
// checks the members file, and prepares every repository under the git root for pushes.
func Open(ctx context.Context, o Options) (*Server, error) {
	if o.Bot == "" {
		o.Bot = DefaultBot
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Webhooks == nil {
		o.Webhooks = http.DefaultClient
	}
	o.URL = strings.TrimSuffix(o.URL, "/")
	if err := os.MkdirAll(filepath.Join(o.DataDir, "forge"), 0o700); err != nil {
		return nil, fmt.Errorf("local GitHub: %w", err)
	}
	if err := os.MkdirAll(GitRoot(o.DataDir), 0o755); err != nil {
		return nil, fmt.Errorf("local GitHub: %w", err)
	}
	st, err := loadState(filepath.Join(o.DataDir, stateFile))
	if err != nil {
		return nil, err
	}
	s := &Server{o: o, st: st}
	if s.token, err = secretFile(TokenPath(o.DataDir)); err != nil {
		return nil, err
	}
	secret, err := secretFile(HMACPath(o.DataDir))
	if err != nil {
		return nil, err
	}
	s.secret = []byte(secret)
	if o.SeedOrg != "" && o.SeedUser != "" {
		if err := seedMembers(MembersPath(o.DataDir), o.SeedOrg, o.SeedUser); err != nil {
			return nil, err
		}
	}
	if _, err := loadMembers(MembersPath(o.DataDir)); err != nil {
		return nil, err
	}
	return s, s.PrepareRepos(ctx)
}

// PrepareRepos readies every served repository for pushes and their events (again on every
// start: the prowl binary may have moved).
func (s *Server) PrepareRepos(ctx context.Context) error {
	repos, err := servedRepos(GitRoot(s.o.DataDir))
	if err != nil {
		return err
	}
	for _, r := range repos {
		if err := prepareRepo(ctx, s.repoDir(r), s.o.Self, s.o.DataDir, r); err != nil {
			return err
		}
	}
	return nil
}

// secretFile reads a secret kept in path, making a random one on first use.
func secretFile(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err == nil && strings.TrimSpace(string(raw)) != "" {
		return strings.TrimSpace(string(raw)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	v := hex.EncodeToString(b)
	return v, writeAtomic(path, []byte(v+"\n"), 0o600)
}

// SetHook is where events go from now on: Hook's URL once it listens.
func (s *Server) SetHook(url string) {
	s.hookMu.Lock()
	s.hookURL = url
	s.hookMu.Unlock()
}

// Serving records the URL the server is reachable at, for `prowl pr` and `prowl repo` to find;
// the returned function removes it when the server stops.
func (s *Server) Serving() (func(), error) {
	path := filepath.Join(s.o.DataDir, urlFile)
	if err := writeAtomic(path, []byte(s.o.URL+"\n"), 0o600); err != nil {
		return nil, err
	}
	return func() { _ = os.Remove(path) }, nil
}

// repoDir is org/repo's bare repository.
func (s *Server) repoDir(orgRepo string) string {
	return filepath.Join(GitRoot(s.o.DataDir), orgRepo+".git")
}

// repoExists says whether org/repo is served.
func (s *Server) repoExists(orgRepo string) bool {
	_, err := os.Stat(filepath.Join(s.repoDir(orgRepo), "HEAD"))
	return err == nil
}

// save writes the state; the caller holds mu.
func (s *Server) save() error {
	return s.st.save(filepath.Join(s.o.DataDir, stateFile))
}
