package jobs

import (
	"fmt"
	"sort"
	"strings"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
)

// RefsOptions are the refs a presubmit or postsubmit run needs, as `prowl mkpj` takes them.
type RefsOptions struct {
	BaseRef, BaseSHA                 string
	PullNumber                       int
	PullSHA, PullAuthor, PullHeadRef string
}

// ForName builds a ProwJob of the job called name: a periodic, a postsubmit at the base ref, or
// a presubmit on a pull request. An unknown name's error suggests the closest names.
func (b Builder) ForName(c *config.Config, name string, o RefsOptions) (*prowv1.ProwJob, error) {
	for i := range c.Periodics {
		if c.Periodics[i].Name == name {
			return b.Periodic(&c.Periodics[i]), nil
		}
	}
	for _, repo := range config.SortedKeys(c.PresubmitsStatic) {
		for i, p := range c.PresubmitsStatic[repo] {
			if p.Name != name || (o.BaseRef != "" && !p.ShouldRun(o.BaseRef)) {
				continue
			}
			if o.BaseRef == "" || o.BaseSHA == "" || o.PullNumber == 0 || o.PullSHA == "" || o.PullAuthor == "" {
				return nil, fmt.Errorf("job %s is a presubmit of %s: set --base-ref, --base-sha, --pull-number, --pull-sha and --pull-author", name, repo)
			}
			refs := baseRefs(repo, o)
			refs.Pulls = []prowv1.Pull{{Number: o.PullNumber, SHA: o.PullSHA, Author: o.PullAuthor, HeadRef: o.PullHeadRef}}
			return b.Presubmit(&c.PresubmitsStatic[repo][i], refs), nil
		}
	}
	for _, repo := range config.SortedKeys(c.PostsubmitsStatic) {
		for i, p := range c.PostsubmitsStatic[repo] {
			if p.Name != name || (o.BaseRef != "" && !p.ShouldRun(o.BaseRef)) {
				continue
			}
			if o.BaseRef == "" || o.BaseSHA == "" {
				return nil, fmt.Errorf("job %s is a postsubmit of %s: set --base-ref and --base-sha", name, repo)
			}
			return b.Postsubmit(&c.PostsubmitsStatic[repo][i], baseRefs(repo, o)), nil
		}
	}
	msg := fmt.Sprintf("no job named %q in the config", name)
	if near := closest(name, allNames(c), 3); len(near) > 0 {
		msg += "; did you mean " + strings.Join(near, ", ") + "?"
	}
	return nil, fmt.Errorf("%s", msg)
}

func baseRefs(repo string, o RefsOptions) prowv1.Refs {
	i := strings.LastIndex(repo, "/")
	return prowv1.Refs{Org: repo[:i], Repo: repo[i+1:], BaseRef: o.BaseRef, BaseSHA: o.BaseSHA}
}

func allNames(c *config.Config) []string {
	var names []string
	for _, p := range c.Periodics {
		names = append(names, p.Name)
	}
	for _, jobs := range c.PresubmitsStatic {
		for _, p := range jobs {
			names = append(names, p.Name)
		}
	}
	for _, jobs := range c.PostsubmitsStatic {
		for _, p := range jobs {
			names = append(names, p.Name)
		}
	}
	return names
}

// closest returns up to n names nearest to name by edit distance, nearest first.
func closest(name string, names []string, n int) []string {
	type scored struct {
		name string
		d    int
	}
	seen := map[string]bool{}
	var all []scored
	for _, c := range names {
		if seen[c] {
			continue
		}
		seen[c] = true
		all = append(all, scored{c, editDistance(name, c)})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].d != all[j].d {
			return all[i].d < all[j].d
		}
		return all[i].name < all[j].name
	})
	var out []string
	for _, s := range all {
		if len(out) == n || s.d > max(len(name)/2, 3) {
			break
		}
		out = append(out, s.name)
	}
	return out
}

// editDistance is the Levenshtein distance; small enough to write here rather than add a module.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
