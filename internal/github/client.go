// Package github is Prowl's GitHub client: google/go-github over a transport that authenticates
// (a personal token, or a GitHub App's installation tokens, refreshed before they expire), makes
// GETs conditional on cached ETags (304s do not count against the rate limit), and retries with
// backoff on network errors, 5xx and rate limits (honouring Retry-After and X-RateLimit-Reset).
// Its users declare the few methods they call as interfaces of their own, so tests swap in fakes.
package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	gh "github.com/google/go-github/v82/github"
	"k8s.io/utils/clock"
)

// DefaultEndpoint is GitHub's REST API.
const DefaultEndpoint = "https://api.github.com/"

// Options configure a Client. Exactly one of TokenPath and AppID is set.
type Options struct {
	// Endpoint is the REST API's base URL (GitHub Enterprise: https://HOST/api/v3/).
	Endpoint string
	// TokenPath is a file holding a personal access token.
	TokenPath string
	// AppID and AppPrivateKeyPath authenticate as a GitHub App.
	AppID             string
	AppPrivateKeyPath string
	// Transport is the network below; http.DefaultTransport when nil.
	Transport http.RoundTripper
	// Retries is how many times a request is retried (default 5); MaxWait caps one wait
	// (default 10 minutes); Backoff is the first backoff (default 1 s).
	Retries int
	MaxWait time.Duration
	Backoff time.Duration
	// Clock times token expiry, rate-limit resets and the waits between retries; the real clock
	// when nil.
	Clock clock.Clock
	// OnRetry, when set, hears why each retry happens (for metrics).
	OnRetry func(reason string)
}

// Client calls GitHub's REST API.
type Client struct {
	gh *gh.Client
}

// New makes a Client, reading its credentials now.
func New(o Options) (*Client, error) {
	if o.Endpoint == "" {
		o.Endpoint = DefaultEndpoint
	}
	if !strings.HasSuffix(o.Endpoint, "/") {
		o.Endpoint += "/"
	}
	base, err := url.Parse(o.Endpoint)
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("--github-endpoint %q is not a URL like https://api.github.com/", o.Endpoint)
	}
	if o.Transport == nil {
		o.Transport = http.DefaultTransport
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Retries == 0 {
		o.Retries = 5
	}
	if o.MaxWait == 0 {
		o.MaxWait = 10 * time.Minute
	}
	if o.Backoff == 0 {
		o.Backoff = time.Second
	}
	var rt http.RoundTripper = &retrier{next: o.Transport, retries: o.Retries, backoff: o.Backoff, maxWait: o.MaxWait, clock: o.Clock, onRetry: o.OnRetry}
	switch {
	case o.TokenPath != "" && o.AppID != "":
		return nil, errors.New("set either --github-token-path or --github-app-id, not both")
	case o.TokenPath != "":
		raw, err := os.ReadFile(o.TokenPath)
		if err != nil {
			return nil, fmt.Errorf("--github-token-path: %w", err)
		}
		token := strings.TrimSpace(string(raw))
		if token == "" {
			return nil, fmt.Errorf("--github-token-path %s is empty", o.TokenPath)
		}
		rt = &tokenAuth{next: rt, token: token}
	case o.AppID != "":
		if o.AppPrivateKeyPath == "" {
			return nil, errors.New("--github-app-id needs --github-app-private-key-path")
		}
		raw, err := os.ReadFile(o.AppPrivateKeyPath)
		if err != nil {
			return nil, fmt.Errorf("--github-app-private-key-path: %w", err)
		}
		key, err := jwt.ParseRSAPrivateKeyFromPEM(raw)
		if err != nil {
			return nil, fmt.Errorf("--github-app-private-key-path %s: not an RSA private key in PEM: %w", o.AppPrivateKeyPath, err)
		}
		rt = &appAuth{next: rt, base: base, appID: o.AppID, key: key, clock: o.Clock, refreshBefore: 5 * time.Minute}
	default:
		return nil, errors.New("no GitHub credentials: set --github-token-path, or --github-app-id with --github-app-private-key-path")
	}
	rt = &etagCache{next: rt, maxEntries: 10000}
	c := gh.NewClient(&http.Client{Transport: rt})
	c.BaseURL = base
	c.UploadURL = base
	c.DisableRateLimitCheck = true // the transport waits for the reset instead of failing early
	return &Client{gh: c}, nil
}

// PullRequest is one pull request.
func (c *Client) PullRequest(ctx context.Context, org, repo string, number int) (*gh.PullRequest, error) {
	pr, _, err := c.gh.PullRequests.Get(ctx, org, repo, number)
	return pr, err
}

// PullRequestFiles lists the names of the files a pull request changes (every page).
func (c *Client) PullRequestFiles(ctx context.Context, org, repo string, number int) ([]string, error) {
	var names []string
	opts := &gh.ListOptions{PerPage: 100}
	for {
		files, resp, err := c.gh.PullRequests.ListFiles(ctx, org, repo, number, opts)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			names = append(names, f.GetFilename())
			if prev := f.GetPreviousFilename(); prev != "" {
				names = append(names, prev) // a rename changes both paths, as Prow counts it
			}
		}
		if resp.NextPage == 0 {
			return names, nil
		}
		opts.Page = resp.NextPage
	}
}

// IsMember says whether user is a member of org.
func (c *Client) IsMember(ctx context.Context, org, user string) (bool, error) {
	ok, _, err := c.gh.Organizations.IsMember(ctx, org, user)
	return ok, err
}

// IsCollaborator says whether user is a collaborator of org/repo.
func (c *Client) IsCollaborator(ctx context.Context, org, repo, user string) (bool, error) {
	ok, _, err := c.gh.Repositories.IsCollaborator(ctx, org, repo, user)
	return ok, err
}

// Comment is an issue or pull request comment.
type Comment struct {
	ID   int64
	Body string
	User string
}

// CreateComment comments on an issue or pull request.
func (c *Client) CreateComment(ctx context.Context, org, repo string, number int, body string) error {
	_, _, err := c.gh.Issues.CreateComment(ctx, org, repo, number, &gh.IssueComment{Body: gh.Ptr(body)})
	return err
}

// ListComments lists an issue's or pull request's comments (every page).
func (c *Client) ListComments(ctx context.Context, org, repo string, number int) ([]Comment, error) {
	var out []Comment
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		comments, resp, err := c.gh.Issues.ListComments(ctx, org, repo, number, opts)
		if err != nil {
			return nil, err
		}
		for _, cm := range comments {
			out = append(out, Comment{ID: cm.GetID(), Body: cm.GetBody(), User: cm.GetUser().GetLogin()})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// EditComment replaces a comment's body.
func (c *Client) EditComment(ctx context.Context, org, repo string, id int64, body string) error {
	_, _, err := c.gh.Issues.EditComment(ctx, org, repo, id, &gh.IssueComment{Body: gh.Ptr(body)})
	return err
}

// DeleteComment deletes a comment.
func (c *Client) DeleteComment(ctx context.Context, org, repo string, id int64) error {
	_, err := c.gh.Issues.DeleteComment(ctx, org, repo, id)
	return err
}

// AddLabel adds a label to an issue or pull request.
func (c *Client) AddLabel(ctx context.Context, org, repo string, number int, label string) error {
	_, _, err := c.gh.Issues.AddLabelsToIssue(ctx, org, repo, number, []string{label})
	return err
}

// RemoveLabel removes a label; a label that is not there is not an error.
func (c *Client) RemoveLabel(ctx context.Context, org, repo string, number int, label string) error {
	resp, err := c.gh.Issues.RemoveLabelForIssue(ctx, org, repo, number, label)
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return nil
	}
	return err
}

// Status is a commit status.
type Status struct {
	State, TargetURL, Description, Context string
}

// CreateStatus sets a commit status on sha.
func (c *Client) CreateStatus(ctx context.Context, org, repo, sha string, s Status) error {
	st := gh.RepoStatus{State: gh.Ptr(s.State), Context: gh.Ptr(s.Context), Description: gh.Ptr(s.Description)}
	if s.TargetURL != "" {
		st.TargetURL = gh.Ptr(s.TargetURL)
	}
	_, _, err := c.gh.Repositories.CreateStatus(ctx, org, repo, sha, st)
	return err
}

// IsNotFound says whether err is GitHub answering 404 (the object does not exist, or this token
// may not see it).
func IsNotFound(err error) bool {
	var resp *gh.ErrorResponse
	return errors.As(err, &resp) && resp.Response != nil && resp.Response.StatusCode == http.StatusNotFound
}
