package forge

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// members is <data-dir>/members.yaml: who the local GitHub says belongs where. A key "org" lists
// the org's members; a key "org/repo" lists the repository's collaborators (besides the org's
// members). Trigger trusts both, as it trusts them on GitHub.
type members map[string][]string

// loadMembers reads the members file; a missing file means nobody is a member. It is read on
// every question, so an edit takes effect at once.
func loadMembers(path string) (members, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return members{}, nil
	}
	if err != nil {
		return nil, err
	}
	var m members
	if err := yaml.UnmarshalStrict(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: %w: write one list of users per org or org/repo, e.g. \"prowl-example: [alice]\"", path, err)
	}
	for key := range m {
		if key == "" || strings.Count(key, "/") > 1 {
			return nil, fmt.Errorf("%s: key %q is neither an org nor org/repo", path, key)
		}
	}
	return m, nil
}

// isMember says whether user is a member of org.
func (m members) isMember(org, user string) bool {
	return slices.Contains(m[org], user)
}

// isCollaborator says whether user may push to org/repo: a member of its org, or listed under
// org/repo.
func (m members) isCollaborator(org, repo, user string) bool {
	return m.isMember(org, user) || slices.Contains(m[org+"/"+repo], user)
}

// seedMembers writes a members file that makes user a member of org, unless one exists.
func seedMembers(path, org, user string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	body := fmt.Sprintf("# The local GitHub's members: org: [users] makes them org members, org/repo: [users]\n"+
		"# collaborators. Trigger runs their pull requests' tests at once; others need /ok-to-test.\n%s:\n- %s\n", org, user)
	return writeAtomic(path, []byte(body), 0o644)
}
