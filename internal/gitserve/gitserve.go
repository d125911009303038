// Package gitserve serves bare git repositories over HTTP with git's own git-http-backend (Debian's
// git ships it) through net/http/cgi: the smart HTTP protocol, as GitHub speaks it, with nothing
// written by hand. `prowl up` serves the example repository with it; tests serve theirs.
package gitserve

import (
	"fmt"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Backend is where Debian's git installs git-http-backend.
const Backend = "/usr/lib/git-core/git-http-backend"

// Handler serves every bare repository under root at /<path relative to root>.
func Handler(root string) (http.Handler, error) {
	backend := Backend
	if out, err := exec.Command("git", "--exec-path").Output(); err == nil {
		backend = filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	}
	if _, err := os.Stat(backend); err != nil {
		return nil, fmt.Errorf("no git-http-backend at %s: install git (Debian's git package ships it)", backend)
	}
	return &cgi.Handler{Path: backend, Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}, nil
}
