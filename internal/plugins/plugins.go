// Package plugins reads the parts of Prow's plugins.yaml that Prowl acts on: the `plugins` map,
// which enables a plugin per org or org/repo, and the `triggers` section, which says whom the
// trigger plugin trusts. Every other section (approve, lgtm, size, ...) is left alone, so Prow's own
// file loads unchanged.
package plugins

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/prowl-ci/prowl/internal/reloadfile"
)

// Config is plugins.yaml.
type Config struct {
	// Plugins maps an org or org/repo to its plugins. Prow accepts both a list and
	// {plugins: [...], excluded_repos: [...]}.
	Plugins map[string]OrgPlugins `json:"plugins,omitempty"`
	// Triggers configure the trigger plugin per org or org/repo.
	Triggers []Trigger `json:"triggers,omitempty"`
	// ExternalPlugins are the plugins served by other programs, per org or org/repo. Prowl does
	// not call them; checkconfig validates them as Prow does.
	ExternalPlugins map[string][]ExternalPlugin `json:"external_plugins,omitempty"`
}

// ExternalPlugin is one entry of `external_plugins`.
type ExternalPlugin struct {
	Name     string   `json:"name"`
	Endpoint string   `json:"endpoint,omitempty"`
	Events   []string `json:"events,omitempty"`
}

// OrgPlugins are the plugins of one org or repo.
type OrgPlugins struct {
	Plugins       []string `json:"plugins,omitempty"`
	ExcludedRepos []string `json:"excluded_repos,omitempty"`
}

// UnmarshalJSON takes Prow's older form, a bare list, too.
func (o *OrgPlugins) UnmarshalJSON(b []byte) error {
	var list []string
	if err := yaml.Unmarshal(b, &list); err == nil {
		o.Plugins = list
		return nil
	}
	type plain OrgPlugins
	return yaml.Unmarshal(b, (*plain)(o))
}

// Trigger is one entry of `triggers`.
type Trigger struct {
	// Repos are the orgs and org/repos this entry applies to.
	Repos []string `json:"repos,omitempty"`
	// TrustedApps are GitHub Apps (by name, without [bot]) whose pull requests run tests.
	TrustedApps []string `json:"trusted_apps,omitempty"`
	// TrustedOrgs are orgs besides the repo's own whose members are trusted.
	TrustedOrgs []string `json:"trusted_orgs,omitempty"`
	// JoinOrgURL is linked from the comment on an untrusted pull request.
	JoinOrgURL string `json:"join_org_url,omitempty"`
	// OnlyOrgMembers trusts org members only, not collaborators.
	OnlyOrgMembers bool `json:"only_org_members,omitempty"`
	// IgnoreOkToTest makes /ok-to-test do nothing.
	IgnoreOkToTest bool `json:"ignore_ok_to_test,omitempty"`
	// TriggerGitHubWorkflows is Prow's; Prowl does not run GitHub workflows.
	TriggerGitHubWorkflows bool `json:"trigger_github_workflows,omitempty"`
}

// Load reads plugins.yaml.
func Load(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--plugin-config: %w", err)
	}
	c, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse reads plugins.yaml's content.
func Parse(raw []byte) (*Config, error) {
	var c Config
	if err := yaml.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	for i, t := range c.Triggers {
		for _, r := range t.Repos {
			if r == "" || strings.Count(r, "/") > 1 {
				return nil, fmt.Errorf("triggers[%d].repos: %q is not an org or org/repo", i, r)
			}
		}
	}
	return &c, nil
}

// Enabled says whether plugin runs for org/repo: listed for the repo, or for the org with the
// repo not excluded.
func (c *Config) Enabled(org, repo, plugin string) bool {
	if c == nil {
		return false
	}
	if p, ok := c.Plugins[org+"/"+repo]; ok && slices.Contains(p.Plugins, plugin) {
		return true
	}
	p, ok := c.Plugins[org]
	return ok && slices.Contains(p.Plugins, plugin) && !slices.Contains(p.ExcludedRepos, repo)
}

// TriggerFor is the trigger entry of org/repo: the one naming the repo, else the one naming the
// org, else the defaults.
func (c *Config) TriggerFor(org, repo string) Trigger {
	if c == nil {
		return Trigger{}
	}
	for _, t := range c.Triggers {
		if slices.Contains(t.Repos, org+"/"+repo) {
			return t
		}
	}
	for _, t := range c.Triggers {
		if slices.Contains(t.Repos, org) {
			return t
		}
	}
	return Trigger{}
}

// Loader keeps plugins.yaml current: Config reads the file again when it changes, and keeps the
// last good config while it does not load.
type Loader struct {
	file   *reloadfile.File[*Config]
	static *Config
}

// NewLoader loads path; its first load must succeed. onError, when set, hears why a changed file
// did not load.
func NewLoader(path string, onError func(error)) (*Loader, error) {
	f, err := reloadfile.Load("--plugin-config", path, Parse)
	if err != nil {
		return nil, err
	}
	f.OnError = onError
	return &Loader{file: f}, nil
}

// Static is a Loader that always returns c (no file).
func Static(c *Config) *Loader { return &Loader{static: c} }

// Config is the current plugins.yaml (the last good one should the file be gone).
func (l *Loader) Config() *Config {
	if l.file == nil {
		return l.static
	}
	c, _ := l.file.Get()
	return c
}
