package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	gh "github.com/google/go-github/v82/github"
	"github.com/spf13/cobra"

	"github.com/prowl-ci/prowl/internal/forge"
)

func init() { subcommands = append(subcommands, newPRCommand, newRepoCommand) }

// forgeFlags find the running `prowl up` (its data dir) and say whom to act as.
type forgeFlags struct {
	dataDir, as, repo string
}

func (f *forgeFlags) add(cmd *cobra.Command, asName string) {
	cmd.Flags().StringVar(&f.dataDir, "data-dir", "", "the data dir of the running `prowl up` (default ~/.local/share/prowl)")
	cmd.Flags().StringVar(&f.as, asName, forge.DefaultUser(), "the GitHub user to act as (members.yaml in the data dir says whom Trigger trusts)")
}

// connect reaches the local GitHub of the running `prowl up`.
func (f *forgeFlags) connect(ctx context.Context) (*forge.Client, error) {
	dir, err := dataDirOrDefault(f.dataDir)
	if err != nil {
		return nil, err
	}
	return forge.Connect(ctx, dir, f.as)
}

// pullArg reads N and finds the pull request's repository.
func (f *forgeFlags) pullArg(ctx context.Context, c *forge.Client, arg string) (string, int, error) {
	n, err := strconv.Atoi(arg)
	if err != nil || n <= 0 {
		return "", 0, usageError{fmt.Errorf("%q is not a pull request number", arg)}
	}
	orgRepo, _, err := c.FindPull(ctx, f.repo, n)
	return orgRepo, n, err
}

// webhookWarning prints that a change was made but Hook did not hear of it; other errors return.
func webhookWarning(stderr io.Writer, err error) error {
	var we *forge.WebhookError
	if errors.As(err, &we) {
		fmt.Fprintf(stderr, "warning: %v\n", err)
		return nil
	}
	return err
}

const prLong = `pr opens and works on pull requests of the repositories a running 'prowl up' serves, through its
local GitHub (on when prowl up has no GitHub credentials). Each command sends Hook the webhook
GitHub would (pull_request opened, synchronize, labeled, closed; issue_comment created), so
Trigger starts presubmits, /test and /retest work, and Crier reports statuses and comments back.
A pull request follows its branch: pushing to it sends synchronize. The commands find prowl up
through its --data-dir.`

func newPRCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "pr", Short: "Open, comment on, label, close and show pull requests on prowl up's local GitHub", Long: prLong,
		Example: `  git push http://127.0.0.1:8889/prowl-example/hello.git HEAD:my-change
  prowl pr open prowl-example/hello --head my-change --title "Greet louder"
  prowl pr show 1
  prowl pr comment 1 "/retest"`}
	cmd.AddCommand(newPROpen(stdout, stderr), newPRPush(stdout, stderr), newPRComment(stdout, stderr), newPRLabel(stdout, stderr),
		newPRClose(stdout, stderr), newPRList(stdout), newPRShow(stdout))
	return cmd
}

func newPROpen(stdout, stderr io.Writer) *cobra.Command {
	var f forgeFlags
	var in gh.NewPullRequest
	var head, base, title string
	var draft bool
	cmd := &cobra.Command{Use: "open ORG/REPO --head BRANCH [--base main] [--title T] [--author USER] [--draft]", Short: "Open a pull request from a pushed branch",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			org, repo, err := forge.SplitRepo(args[0])
			if err != nil {
				return usageError{err}
			}
			if head == "" {
				return usageError{errors.New("--head is required: the branch to merge, pushed to the repository")}
			}
			c, err := f.connect(cmd.Context())
			if err != nil {
				return err
			}
			in.Head, in.Base, in.Title, in.Draft = &head, &base, &title, &draft
			pr, resp, err := c.GitHub.PullRequests.Create(cmd.Context(), org, repo, &in)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "opened %s#%d by %s: %s\n", args[0], pr.GetNumber(), pr.GetUser().GetLogin(), pr.GetHTMLURL())
			return webhookWarning(stderr, forge.CheckWebhook(resp))
		}}
	f.add(cmd, "author")
	cmd.Flags().StringVar(&head, "head", "", "the branch to merge (push it first)")
	cmd.Flags().StringVar(&base, "base", "main", "the branch to merge into")
	cmd.Flags().StringVar(&title, "title", "", "the title (default: the head branch)")
	cmd.Flags().BoolVar(&draft, "draft", false, "open it as a draft: Trigger runs nothing until it is ready")
	return cmd
}

func newPRPush(stdout, stderr io.Writer) *cobra.Command {
	var f forgeFlags
	cmd := &cobra.Command{Use: "push N", Short: "Move a pull request to its branch's tip (pushes to the branch do this themselves)",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.onPull(cmd.Context(), args[0], func(c *forge.Client, orgRepo string, n int) error {
				pr, err := c.SyncPull(cmd.Context(), orgRepo, n)
				if err := webhookWarning(stderr, err); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "%s#%d is at %s\n", orgRepo, n, pr.GetHead().GetSHA())
				return nil
			})
		}}
	f.add(cmd, "as")
	cmd.Flags().StringVar(&f.repo, "repo", "", "ORG/REPO, when more than one repository has pull request N")
	return cmd
}

// onPull connects, finds pull request arg and runs do on it.
func (f *forgeFlags) onPull(ctx context.Context, arg string, do func(c *forge.Client, orgRepo string, n int) error) error {
	c, err := f.connect(ctx)
	if err != nil {
		return err
	}
	orgRepo, n, err := f.pullArg(ctx, c, arg)
	if err != nil {
		return err
	}
	return do(c, orgRepo, n)
}

// pullAction is what a command that changes pull request N does: it returns the response (for
// its webhook warning) and what to print.
type pullAction func(ctx context.Context, c *forge.Client, org, repo string, n int, args []string) (*gh.Response, string, error)

// pullCommand is a `prowl pr` command that acts on pull request N as --as.
func pullCommand(stdout, stderr io.Writer, use, short string, nargs int, act pullAction) *cobra.Command {
	var f forgeFlags
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(nargs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.onPull(cmd.Context(), args[0], func(c *forge.Client, orgRepo string, n int) error {
				org, repo, _ := forge.SplitRepo(orgRepo)
				resp, msg, err := act(cmd.Context(), c, org, repo, n, args)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "%s#%d: %s\n", orgRepo, n, msg)
				return webhookWarning(stderr, forge.CheckWebhook(resp))
			})
		}}
	f.add(cmd, "as")
	cmd.Flags().StringVar(&f.repo, "repo", "", "ORG/REPO, when more than one repository has pull request N")
	return cmd
}

func newPRComment(stdout, stderr io.Writer) *cobra.Command {
	return pullCommand(stdout, stderr, "comment N TEXT", "Comment on a pull request (/test all, /retest, /ok-to-test, or any text)", 2,
		func(ctx context.Context, c *forge.Client, org, repo string, n int, args []string) (*gh.Response, string, error) {
			cm, resp, err := c.GitHub.Issues.CreateComment(ctx, org, repo, n, &gh.IssueComment{Body: gh.Ptr(args[1])})
			return resp, fmt.Sprintf("commented as %s (comment %d)", cm.GetUser().GetLogin(), cm.GetID()), err
		})
}

func newPRLabel(stdout, stderr io.Writer) *cobra.Command {
	return pullCommand(stdout, stderr, "label N LABEL", "Label a pull request (ok-to-test starts an untrusted author's tests when a member adds it)", 2,
		func(ctx context.Context, c *forge.Client, org, repo string, n int, args []string) (*gh.Response, string, error) {
			_, resp, err := c.GitHub.Issues.AddLabelsToIssue(ctx, org, repo, n, []string{args[1]})
			return resp, "labelled " + args[1], err
		})
}

func newPRClose(stdout, stderr io.Writer) *cobra.Command {
	return pullCommand(stdout, stderr, "close N", "Close a pull request (its running jobs are aborted)", 1,
		func(ctx context.Context, c *forge.Client, org, repo string, n int, _ []string) (*gh.Response, string, error) {
			_, resp, err := c.GitHub.PullRequests.Edit(ctx, org, repo, n, &gh.PullRequest{State: gh.Ptr("closed")})
			return resp, "closed", err
		})
}

func newPRList(stdout io.Writer) *cobra.Command {
	var f forgeFlags
	cmd := &cobra.Command{Use: "list", Short: "List the pull requests of every repository", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.connect(cmd.Context())
			if err != nil {
				return err
			}
			return c.List(cmd.Context(), stdout)
		}}
	f.add(cmd, "as")
	return cmd
}

func newPRShow(stdout io.Writer) *cobra.Command {
	var f forgeFlags
	cmd := &cobra.Command{Use: "show N", Short: "Show a pull request: its statuses, labels and comments", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.onPull(cmd.Context(), args[0], func(c *forge.Client, orgRepo string, n int) error {
				return c.Show(cmd.Context(), stdout, orgRepo, n)
			})
		}}
	f.add(cmd, "as")
	cmd.Flags().StringVar(&f.repo, "repo", "", "ORG/REPO, when more than one repository has pull request N")
	return cmd
}

func newRepoCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "repo", Short: "Create repositories on prowl up's local GitHub"}
	var f forgeFlags
	var from string
	create := &cobra.Command{Use: "create ORG/REPO [--from PATH]", Short: "Create a repository, served at http://<git-addr>/ORG/REPO.git",
		Long: `create makes an empty repository, or with --from one holding a git repository's branches or a
directory's files (one commit on main). Pushes to it send Hook push events; its jobs clone it
from clone_uri: PROWL_GIT_URL/ORG/REPO.git.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, _, err := forge.SplitRepo(args[0]); err != nil {
				return usageError{err}
			}
			c, err := f.connect(cmd.Context())
			if err != nil {
				return err
			}
			repo, err := c.CreateRepo(cmd.Context(), args[0], from)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "created %s: clone or push %s\n", args[0], repo.GetCloneURL())
			return nil
		}}
	f.add(create, "as")
	create.Flags().StringVar(&from, "from", "", "a git repository (every branch is pushed) or a directory (committed on main)")
	var pushedDir string
	pushed := &cobra.Command{Use: "pushed ORG/REPO", Hidden: true, Short: "The repositories' post-receive hook: tells prowl up what was pushed",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			err := forge.PostReceive(cmd.Context(), pushedDir, args[0], forge.DefaultUser(), cmd.InOrStdin())
			if err != nil {
				// The push is in; say why no event followed, but do not fail git's push.
				fmt.Fprintf(stderr, "prowl: no push event was sent: %v\n", err)
			}
			return nil
		}}
	pushed.Flags().StringVar(&pushedDir, "data-dir", "", "the data dir of the running prowl up")
	cmd.AddCommand(create, pushed)
	return cmd
}
