package trigger

import (
	"fmt"
	"sort"
	"strings"
)

// help lists the /test commands of a pull request's jobs, as Prow's reply to `/test ?`.
func (t *Trigger) help(p pull) string {
	var required, optional, auto []string
	for _, job := range t.presubmits(p.org, p.repo) {
		if !job.ShouldRun(p.baseRef) {
			continue
		}
		cmd := "* `" + job.RerunCommand + "`"
		if job.Optional {
			optional = append(optional, cmd)
		} else {
			required = append(required, cmd)
		}
		if job.AlwaysRun || job.CouldRun() {
			auto = append(auto, "* "+job.Name)
		}
	}
	sort.Strings(required)
	sort.Strings(optional)
	sort.Strings(auto)
	var b strings.Builder
	if len(required)+len(optional) == 0 {
		return fmt.Sprintf("No presubmit jobs are available for %s/%s on branch %s.", p.org, p.repo, p.baseRef)
	}
	if len(required) > 0 {
		b.WriteString("The following commands are available to trigger required jobs:\n" + strings.Join(required, "\n") + "\n\n")
	}
	if len(optional) > 0 {
		b.WriteString("The following commands are available to trigger optional jobs:\n" + strings.Join(optional, "\n") + "\n\n")
	}
	if len(auto) > 0 {
		b.WriteString("Use `/test all` to run the following jobs that were automatically triggered:\n" + strings.Join(auto, "\n") + "\n")
	}
	return strings.TrimSpace(b.String())
}
