package local

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prowl-ci/prowl/examples"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/gitserve"
)

// Placeholders of the example config, replaced wherever the examples are used.
const (
	// DataDirPlaceholder stands for `prowl up`'s data directory (artifacts go under it).
	DataDirPlaceholder = "PROWL_DATA_DIR"
	// GitURLPlaceholder stands for where the example repository is served.
	GitURLPlaceholder = "PROWL_GIT_URL"
)

// readHeaderTimeout bounds how long a client of the example repository may take to send headers.
const readHeaderTimeout = 10 * time.Second

// serveExampleRepo makes the example repository under root (once) and serves root over HTTP at
// addr until ctx ends; it returns the served URL.
func serveExampleRepo(ctx context.Context, root, addr string) (string, error) {
	if _, err := examples.InitRepo(root); err != nil {
		return "", err
	}
	h, err := gitserve.Handler(root)
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("serve the example repository: %w (choose another address with --git-addr)", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return "http://" + ln.Addr().String(), nil
}

// writeExamples writes the embedded example config into dir with the placeholders replaced.
func writeExamples(dir string, r *strings.Replacer) error {
	return fs.WalkDir(examples.Files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, p)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := examples.Files.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, []byte(r.Replace(string(data))), 0o644)
	})
}

// placeholders replaces the example config's placeholders with dataDir and gitURL.
func placeholders(dataDir, gitURL string) *strings.Replacer {
	return strings.NewReplacer(DataDirPlaceholder, dataDir, GitURLPlaceholder, gitURL)
}

// usesPlaceholder says whether any file of the config (the prow config, the job config file or
// any YAML file under the job config directory) holds the placeholder: the repository's own
// examples/ used in place, which then need it replaced to work.
func usesPlaceholder(o config.Options, placeholder string) bool {
	found := false
	check := func(p string) {
		if raw, err := os.ReadFile(p); err == nil && strings.Contains(string(raw), placeholder) {
			found = true
		}
	}
	if o.ConfigPath != "" {
		check(o.ConfigPath)
	}
	if o.JobConfigPath != "" {
		_ = filepath.WalkDir(o.JobConfigPath, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
				check(p)
			}
			return nil
		})
	}
	return found
}
