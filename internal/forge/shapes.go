package forge

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"time"

	gh "github.com/google/go-github/v82/github"
)

// This file renders the state in GitHub's JSON shapes, through go-github's own types, so that the
// field names are the ones go-github (and Prow) read.

// id is a stable numeric ID for a name (GitHub's users and repositories have one).
func id(name string) int64 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	return int64(h.Sum32())
}

func ts(t time.Time) *gh.Timestamp { return &gh.Timestamp{Time: t} }

func (s *Server) userJSON(login string) *gh.User {
	return &gh.User{Login: gh.Ptr(login), ID: gh.Ptr(id(login)), Type: gh.Ptr("User"),
		HTMLURL: gh.Ptr(s.o.URL + "/" + login), URL: gh.Ptr(s.o.URL + APIPath + "users/" + login)}
}

func (s *Server) repoJSON(ctx context.Context, orgRepo string) *gh.Repository {
	org, name, _ := strings.Cut(orgRepo, "/")
	return &gh.Repository{ID: gh.Ptr(id(orgRepo)), Name: gh.Ptr(name), FullName: gh.Ptr(orgRepo), Owner: s.userJSON(org),
		HTMLURL: gh.Ptr(s.o.URL + "/" + orgRepo), CloneURL: gh.Ptr(s.o.URL + "/" + orgRepo + ".git"),
		URL: gh.Ptr(s.o.URL + APIPath + "repos/" + orgRepo), DefaultBranch: gh.Ptr(s.defaultBranch(ctx, orgRepo))}
}

// defaultBranch is the branch the repository's HEAD names (main when it cannot be read). Every
// repository and pull request rendered asks, mostly under mu, so it reads the HEAD file itself;
// git is run only when HEAD is not a plain branch ref there (a reftable repository's is not).
func (s *Server) defaultBranch(ctx context.Context, orgRepo string) string {
	dir := s.repoDir(orgRepo)
	if raw, err := os.ReadFile(filepath.Join(dir, "HEAD")); err == nil {
		if branch, ok := strings.CutPrefix(strings.TrimSpace(string(raw)), "ref: refs/heads/"); ok && branch != ".invalid" {
			return branch
		}
	}
	ref, err := git(ctx, dir, "symbolic-ref", "--short", "HEAD")
	if err != nil || ref == "" {
		return "main"
	}
	return ref
}

func (s *Server) pullURL(orgRepo string, n int) string {
	return fmt.Sprintf("%s/%s/pull/%d", s.o.URL, orgRepo, n)
}

func (s *Server) labelsJSON(labels []string) []*gh.Label {
	out := []*gh.Label{}
	for _, l := range labels {
		out = append(out, &gh.Label{ID: gh.Ptr(id(l)), Name: gh.Ptr(l), Color: gh.Ptr("ededed")})
	}
	return out
}

func (s *Server) pullJSON(ctx context.Context, orgRepo string, p Pull) *gh.PullRequest {
	org, _, _ := strings.Cut(orgRepo, "/")
	repo := s.repoJSON(ctx, orgRepo)
	pr := &gh.PullRequest{ID: gh.Ptr(id(fmt.Sprintf("%s#%d", orgRepo, p.Number))), Number: gh.Ptr(p.Number), State: gh.Ptr(p.State),
		Title: gh.Ptr(p.Title), Body: gh.Ptr(p.Body), User: s.userJSON(p.Author), Labels: s.labelsJSON(p.Labels), Draft: gh.Ptr(p.Draft),
		HTMLURL: gh.Ptr(s.pullURL(orgRepo, p.Number)), URL: gh.Ptr(fmt.Sprintf("%s%srepos/%s/pulls/%d", s.o.URL, APIPath, orgRepo, p.Number)),
		Head:      &gh.PullRequestBranch{Label: gh.Ptr(org + ":" + p.Head), Ref: gh.Ptr(p.Head), SHA: gh.Ptr(p.HeadSHA), Repo: repo, User: s.userJSON(org)},
		Base:      &gh.PullRequestBranch{Label: gh.Ptr(org + ":" + p.Base), Ref: gh.Ptr(p.Base), SHA: gh.Ptr(p.BaseSHA), Repo: repo, User: s.userJSON(org)},
		CreatedAt: ts(p.CreatedAt), UpdatedAt: ts(p.UpdatedAt), Merged: gh.Ptr(false), Comments: gh.Ptr(len(p.Comments))}
	if p.ClosedAt != nil {
		pr.ClosedAt = ts(*p.ClosedAt)
	}
	return pr
}

// issueJSON is the pull request as the issues API shows it (an issue_comment event carries it).
func (s *Server) issueJSON(orgRepo string, p Pull) *gh.Issue {
	return &gh.Issue{ID: gh.Ptr(id(fmt.Sprintf("%s#%d", orgRepo, p.Number))), Number: gh.Ptr(p.Number), State: gh.Ptr(p.State),
		Title: gh.Ptr(p.Title), Body: gh.Ptr(p.Body), User: s.userJSON(p.Author), Labels: s.labelsJSON(p.Labels),
		HTMLURL: gh.Ptr(s.pullURL(orgRepo, p.Number)), Draft: gh.Ptr(p.Draft),
		PullRequestLinks: &gh.PullRequestLinks{HTMLURL: gh.Ptr(s.pullURL(orgRepo, p.Number)),
			URL: gh.Ptr(fmt.Sprintf("%s%srepos/%s/pulls/%d", s.o.URL, APIPath, orgRepo, p.Number))}}
}

func (s *Server) commentJSON(orgRepo string, number int, c Comment) *gh.IssueComment {
	return &gh.IssueComment{ID: gh.Ptr(c.ID), Body: gh.Ptr(c.Body), User: s.userJSON(c.User),
		HTMLURL:   gh.Ptr(fmt.Sprintf("%s#issuecomment-%d", s.pullURL(orgRepo, number), c.ID)),
		IssueURL:  gh.Ptr(fmt.Sprintf("%s%srepos/%s/issues/%d", s.o.URL, APIPath, orgRepo, number)),
		URL:       gh.Ptr(fmt.Sprintf("%s%srepos/%s/issues/comments/%d", s.o.URL, APIPath, orgRepo, c.ID)),
		CreatedAt: ts(c.CreatedAt), UpdatedAt: ts(c.UpdatedAt)}
}

func (s *Server) statusJSON(st Status) *gh.RepoStatus {
	out := &gh.RepoStatus{ID: gh.Ptr(st.ID), State: gh.Ptr(st.State), Context: gh.Ptr(st.Context), Creator: s.userJSON(st.Creator),
		CreatedAt: ts(st.CreatedAt), UpdatedAt: ts(st.CreatedAt)}
	if st.Description != "" {
		out.Description = gh.Ptr(st.Description)
	}
	if st.TargetURL != "" {
		out.TargetURL = gh.Ptr(st.TargetURL)
	}
	return out
}

// combine is GitHub's combined status of the latest status per context: failure if any failed
// or errored, pending if any is pending (or there are none), else success.
func combine(latest []Status) string {
	state := "success"
	if len(latest) == 0 {
		return "pending"
	}
	for _, st := range latest {
		switch st.State {
		case "failure", "error":
			return "failure"
		case "pending":
			state = "pending"
		}
	}
	return state
}

// latestPerContext keeps the newest status of each context, newest first.
func latestPerContext(all []Status, sha string) []Status {
	seen := map[string]bool{}
	var out []Status
	for i := len(all) - 1; i >= 0; i-- {
		st := all[i]
		if st.SHA != sha || seen[st.Context] {
			continue
		}
		seen[st.Context] = true
		out = append(out, st)
	}
	return out
}
