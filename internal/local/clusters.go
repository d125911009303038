package local

import (
	"fmt"
	"io"
	"sort"
	"strings"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
)

// localClusters reads --build-clusters for prowl up's local node (nil or "all": every alias runs
// here; "default": only default's jobs) and says on w which aliases run here. It returns Plank's
// LocalClusters.
func localClusters(flag []string, c *config.Config, w io.Writer) []string {
	aliases := clusterAliases(c)
	switch {
	case len(flag) == 1 && flag[0] == prowv1.DefaultClusterAlias:
		if len(aliases) > 0 {
			fmt.Fprintf(w, "local node: only the %q build cluster's jobs run here; jobs of %s end in error (--build-clusters=all runs them here too)\n", prowv1.DefaultClusterAlias, strings.Join(aliases, ", "))
		}
		return nil
	case flag == nil || (len(flag) == 1 && flag[0] == "all"):
		if len(aliases) > 0 {
			fmt.Fprintf(w, "local node: the jobs of every build cluster run here, as if it were each (the config names %s; --build-clusters=NAME,... limits them)\n", strings.Join(aliases, ", "))
		}
		return []string{"*"}
	}
	fmt.Fprintf(w, "local node: the jobs of build clusters %s run here (--build-clusters)\n", strings.Join(flag, ", "))
	return flag
}

// clusterAliases are the build cluster aliases other than default that the config's jobs name.
func clusterAliases(c *config.Config) []string {
	seen := map[string]bool{}
	add := func(alias string) {
		if alias != "" && alias != prowv1.DefaultClusterAlias {
			seen[alias] = true
		}
	}
	for _, p := range c.Periodics {
		add(p.Cluster)
	}
	for _, ps := range c.PresubmitsStatic {
		for _, p := range ps {
			add(p.Cluster)
		}
	}
	for _, ps := range c.PostsubmitsStatic {
		for _, p := range ps {
			add(p.Cluster)
		}
	}
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}
