// Package cli builds prowl's command tree with cobra. Each subcommand parses and validates its
// flags into an options struct and calls into the package that does the work; nothing here exits.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/prowl-ci/prowl/internal/logformat"
)

// Exit codes shared by the subcommands.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// exitError carries an exit code out of a subcommand whose message was already printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// usageError marks an error in how the command was called (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// NewRootCommand builds `prowl` and its subcommands.
func NewRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "prowl",
		Short: "Prowl runs Prow's jobs: ProwJobs as Kubernetes custom resources, from Prow's own config files",
		Long: `Prowl is a Go implementation of Prow's job system. Every job run is a ProwJob
(prow.k8s.io/v1); Horologium starts periodic jobs, Hook's Trigger starts presubmits and
postsubmits, and Plank runs each ProwJob as a Pod decorated with the pod utilities.
Prowl reads Prow's config files unchanged.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	var logFormat string
	root.PersistentFlags().StringVar(&logFormat, "log-format", logformat.Default(stderr), "how logs look on stderr: text (short lines for a person; the default at a terminal) or json (the default otherwise)")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		log, err := logformat.New(logFormat, stderr)
		if err != nil {
			return usageError{err}
		}
		// One logger for everything: controller-runtime's, client-go's (klog) and the context's.
		ctrl.SetLogger(log)
		klog.SetLogger(log)
		cmd.SetContext(logr.NewContext(cmd.Context(), log))
		if cmd.Annotations[annotationDeployed] != "" {
			return CheckMountedFiles(cmd)
		}
		return nil
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	for _, add := range subcommands {
		root.AddCommand(add(stdout, stderr))
	}
	return root
}

// subcommands are registered by each subcommand's file.
var subcommands []func(stdout, stderr io.Writer) *cobra.Command

// Execute runs prowl with args and returns the process exit code.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := NewRootCommand(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var ee exitError
	var ue usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue), strings.HasPrefix(err.Error(), "unknown command"):
		fmt.Fprintf(stderr, "prowl: %v\nRun 'prowl --help' for usage.\n", err)
		return ExitUsage
	default:
		fmt.Fprintf(stderr, "prowl: %v\n", err)
		return ExitFailure
	}
}
