package plugins

import (
	"fmt"
	"slices"
	"strings"
)

// prowPlugins are the names of Prow's own plugins, for the unknown-plugin check.
var prowPlugins = []string{
	"approve", "assign", "blockade", "blunderbuss", "branchcleaner", "bugzilla", "buildifier", "cat",
	"cherry-pick-approved", "cherry-pick-unapproved", "cla", "config-updater", "dco", "dog", "golint",
	"goose", "heart", "help", "hold", "invalidcommitmsg", "issue-management", "jira", "label", "lgtm",
	"lifecycle", "merge-method-comment", "mergecommitblocker", "milestone", "milestoneapplier",
	"milestonestatus", "override", "owners-label", "pony", "project", "project-manager", "release-note",
	"require-matching-label", "require-sig", "retitle", "shrug", "sigmention", "size", "skip",
	"slackevents", "stage", "testfreeze", "transfer-issue", "trick-or-treat", "trigger", "verify-owners",
	"welcome", "wip", "yuks",
}

// Finding is one problem in plugins.yaml: Key is the plugins, triggers or external_plugins
// entry it is about.
type Finding struct {
	Key, Msg string
}

// Validate checks what Prow checks of the parts Prowl reads: a plugin enabled twice for a repo
// (for its org and for itself) and an external plugin listed twice for one org or repo are errors,
// as in Prow; a plugin name that is not one of Prow's is a warning (Prow refuses it, but Prowl
// runs only trigger, so the rest of the file is Prow's business); a repo two trigger entries name
// is a warning, since only the first entry is read.
func (c *Config) Validate() (errs, warnings []Finding) {
	for _, key := range sortedKeys(c.Plugins) {
		for _, name := range c.Plugins[key].Plugins {
			if !slices.Contains(prowPlugins, name) {
				warnings = append(warnings, Finding{"plugins." + key, fmt.Sprintf("plugin %q is not one of Prow's plugins; check its spelling", name)})
			}
		}
		org, _, isRepo := strings.Cut(key, "/")
		if !isRepo {
			continue
		}
		parent, ok := c.Plugins[org]
		if !ok {
			continue
		}
		for _, name := range c.Plugins[key].Plugins {
			if slices.Contains(parent.Plugins, name) && !slices.Contains(parent.ExcludedRepos, strings.TrimPrefix(key, org+"/")) {
				errs = append(errs, Finding{"plugins." + key, fmt.Sprintf("plugin %q is enabled for %s and again for %s; remove one", name, org, key)})
			}
		}
	}
	for _, key := range sortedKeys(c.ExternalPlugins) {
		seen := map[string]bool{}
		for _, p := range c.ExternalPlugins[key] {
			if p.Name == "" {
				errs = append(errs, Finding{"external_plugins." + key, "an external plugin has no name"})
			} else if seen[p.Name] {
				errs = append(errs, Finding{"external_plugins." + key, fmt.Sprintf("external plugin %q is listed twice", p.Name)})
			}
			seen[p.Name] = true
		}
	}
	named := map[string]int{}
	for i, t := range c.Triggers {
		for _, r := range t.Repos {
			if prev, ok := named[r]; ok && prev != i {
				warnings = append(warnings, Finding{"triggers", fmt.Sprintf("%s is in triggers[%d] and triggers[%d]; only the first is read, keep it in one", r, prev, i)})
			}
			named[r] = i
		}
	}
	return errs, warnings
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
