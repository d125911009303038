package forge

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	gh "github.com/google/go-github/v82/github"
)

// This file is what `prowl pr` and `prowl repo` do, on a Client.

// DefaultUser is who `prowl pr` acts as unless told: the person at this machine (their login
// name), whom `prowl up` makes a member of the example's org on first start.
func DefaultUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "developer"
}

// SplitRepo checks ORG/REPO.
func SplitRepo(orgRepo string) (org, repo string, err error) {
	org, repo, ok := strings.Cut(orgRepo, "/")
	if !ok || org == "" || repo == "" || strings.Contains(repo, "/") {
		return "", "", fmt.Errorf("%q is not ORG/REPO", orgRepo)
	}
	return org, repo, nil
}

// FindPull finds pull request n: in orgRepo when given, else in the one repository that has it.
func (c *Client) FindPull(ctx context.Context, orgRepo string, n int) (string, *gh.PullRequest, error) {
	all, err := c.AllPulls(ctx)
	if err != nil {
		return "", nil, err
	}
	var found []*gh.PullRequest
	for _, p := range all {
		if p.GetNumber() == n && (orgRepo == "" || p.GetBase().GetRepo().GetFullName() == orgRepo) {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		where := "any repository"
		if orgRepo != "" {
			where = orgRepo
		}
		return "", nil, fmt.Errorf("no pull request #%d in %s: `prowl pr list` shows them", n, where)
	case 1:
		return found[0].GetBase().GetRepo().GetFullName(), found[0], nil
	}
	var names []string
	for _, p := range found {
		names = append(names, p.GetBase().GetRepo().GetFullName())
	}
	return "", nil, fmt.Errorf("pull request #%d exists in %s: say which with --repo", n, strings.Join(names, " and "))
}

// List prints every pull request, one a line.
func (c *Client) List(ctx context.Context, w io.Writer) error {
	all, err := c.AllPulls(ctx)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		_, err := fmt.Fprintln(w, "no pull requests: open one with `prowl pr open ORG/REPO --head BRANCH`")
		return err
	}
	for _, p := range all {
		if _, err := fmt.Fprintf(w, "%s#%d\t%s\t%s\t%s → %s\t%s\n", p.GetBase().GetRepo().GetFullName(), p.GetNumber(), p.GetState(),
			p.GetUser().GetLogin(), p.GetHead().GetRef(), p.GetBase().GetRef(), p.GetTitle()); err != nil {
			return err
		}
	}
	return nil
}

// Show prints a pull request with its labels, its head's statuses and its comments.
func (c *Client) Show(ctx context.Context, w io.Writer, orgRepo string, n int) error {
	org, repo, err := SplitRepo(orgRepo)
	if err != nil {
		return err
	}
	p, _, err := c.GitHub.PullRequests.Get(ctx, org, repo, n)
	if err != nil {
		return err
	}
	combined, _, err := c.GitHub.Repositories.GetCombinedStatus(ctx, org, repo, p.GetHead().GetSHA(), nil)
	if err != nil {
		return err
	}
	comments, _, err := c.GitHub.Issues.ListComments(ctx, org, repo, n, &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}})
	if err != nil {
		return err
	}
	var labels []string
	for _, l := range p.Labels {
		labels = append(labels, l.GetName())
	}
	fmt.Fprintf(w, "%s#%d %s (%s)\n%s\nauthor: %s\nhead: %s %s\nbase: %s %s\nlabels: %s\n", orgRepo, n, p.GetTitle(), p.GetState(), p.GetHTMLURL(),
		p.GetUser().GetLogin(), p.GetHead().GetRef(), p.GetHead().GetSHA(), p.GetBase().GetRef(), p.GetBase().GetSHA(), strings.Join(labels, ", "))
	fmt.Fprintf(w, "statuses: %s\n", combined.GetState())
	for _, s := range combined.Statuses {
		fmt.Fprintf(w, "  %-8s %s  %s  %s\n", s.GetState(), s.GetContext(), s.GetDescription(), s.GetTargetURL())
	}
	fmt.Fprintf(w, "comments: %d\n", len(comments))
	for _, cm := range comments {
		fmt.Fprintf(w, "  #%d %s:\n", cm.GetID(), cm.GetUser().GetLogin())
		for _, line := range strings.Split(strings.TrimRight(cm.GetBody(), "\n"), "\n") {
			fmt.Fprintf(w, "    %s\n", line)
		}
	}
	return nil
}

// CreateRepo creates org/repo and, with from, pushes into it: every branch of a git repository,
// or a directory's files as one commit on main. The push sends its push events.
func (c *Client) CreateRepo(ctx context.Context, orgRepo, from string) (*gh.Repository, error) {
	org, name, err := SplitRepo(orgRepo)
	if err != nil {
		return nil, err
	}
	repo, _, err := c.GitHub.Repositories.Create(ctx, org, &gh.Repository{Name: gh.Ptr(name)})
	if err != nil {
		return nil, err
	}
	if from == "" {
		return repo, nil
	}
	return repo, pushFrom(ctx, from, repo.GetCloneURL())
}

// pushFrom pushes a git repository's branches, or a plain directory's files committed on main.
func pushFrom(ctx context.Context, from, url string) error {
	st, err := os.Stat(from)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("--from %s is not a directory", from)
	}
	if _, err := git(ctx, from, "rev-parse", "--git-dir"); err == nil {
		_, err := git(ctx, from, "push", "-q", url, "refs/heads/*:refs/heads/*")
		return err
	}
	work, err := os.MkdirTemp("", "prowl-repo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	steps := [][]string{{"init", "-q", "-b", "main"}, {"--work-tree", from, "add", "-A"},
		{"-c", "user.name=" + DefaultUser(), "-c", "user.email=" + DefaultUser() + "@localhost", "commit", "-q", "-m", "Import " + filepath.Base(from)},
		{"push", "-q", url, "main"}}
	for _, step := range steps {
		if _, err := git(ctx, work, step...); err != nil {
			return err
		}
	}
	return nil
}

// PostReceive reads a post-receive hook's stdin ("old new ref" lines) and tells the local GitHub
// of the running `prowl up` on dataDir, which sends Hook the push events.
func PostReceive(ctx context.Context, dataDir, orgRepo, pusher string, stdin io.Reader) error {
	var updates []RefUpdate
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			return fmt.Errorf("post-receive: line %q is not \"OLD NEW REF\"", sc.Text())
		}
		updates = append(updates, RefUpdate{Before: f[0], After: f[1], Ref: f[2]})
	}
	if err := sc.Err(); err != nil {
		return err
	}
	c, err := Connect(ctx, dataDir, pusher)
	if err != nil {
		return err
	}
	return c.Pushed(ctx, orgRepo, pusher, updates)
}
