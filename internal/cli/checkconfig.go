package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/plugins"
)

func init() { subcommands = append(subcommands, newCheckConfigCommand) }

// configFlags are the flags every component uses to find Prow's config, with Prow's names.
type configFlags struct {
	configPath    string
	jobConfigPath string
}

func (f *configFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.configPath, "config-path", "", "Prow's config file (config.yaml)")
	cmd.Flags().StringVar(&f.jobConfigPath, "job-config-path", "", "a job config file, or a directory searched recursively for .yaml and .yml files")
}

func (f *configFlags) validate() error {
	if f.configPath == "" && f.jobConfigPath == "" {
		return usageError{errors.New("set --config-path, --job-config-path, or both")}
	}
	return nil
}

func (f *configFlags) options(strict bool) config.Options {
	return config.Options{ConfigPath: f.configPath, JobConfigPath: f.jobConfigPath, Strict: strict}
}

// Warning names, as Prow's checkconfig has them. Prowl checks those that apply to what it reads;
// it accepts the others (Tide, OWNERS, GitHub and cluster checks) so that organisations' presubmits
// keep running, and says so in docs/config.md.
var (
	checkedWarnings = []string{
		config.WarnNonDecoratedJobs, config.WarnLongJobNames, config.WarnDuplicateJobRefs,
		config.WarnMissingTrigger, config.WarnUnknownFields, config.WarnRequiredJobAnnotations,
		config.WarnPeriodicDefaultClone,
	}
	uncheckedWarnings = []string{
		"mismatched-tide", "mismatched-tide-lenient", "tide-strict-branch", "tide-context-policy",
		"needs-ok-to-test", "managed-webhooks", "validate-owners", "validate-urls", "validate-cluster-field",
		"validate-supplemental-prow-config-hirarchy", "validate-unmanaged-branchconfig-has-no-subconfig",
		"validate-label",
	}
	// prowlWarnings are Prowl's own; they are on by default too.
	prowlWarnings = []string{
		config.WarnStricterThanProw, config.WarnIgnoredField, config.WarnNoJobFiles, config.WarnUnknownAgent, pluginConfigWarning,
	}
	// optionalWarnings are off unless named, as in Prow.
	optionalWarnings = []string{config.WarnUnknownFieldsAll, "valid-decoration-config", "validate-github-app-installation", "verify-owners-presence"}
)

// pluginConfigWarning names the warnings about plugins.yaml (a plugin name Prow does not have).
const pluginConfigWarning = "plugin-config"

type checkConfigOptions struct {
	config                 configFlags
	strict                 bool
	pluginConfig           string
	warnings, exclude      []string
	includeDefaultWarnings bool
	expensive              bool
	requiredAnnotations    []string
	prowYAMLRepoName       string
	prowYAMLPath           string
}

func (o *checkConfigOptions) validate() error {
	if err := o.config.validate(); err != nil {
		return err
	}
	if o.prowYAMLPath != "" && o.prowYAMLRepoName == "" {
		return usageError{errors.New("--prow-yaml-path requires --prow-yaml-repo-name")}
	}
	all := slices.Concat(checkedWarnings, uncheckedWarnings, prowlWarnings, optionalWarnings)
	for _, w := range slices.Concat(o.warnings, o.exclude) {
		if !slices.Contains(all, w) {
			slices.Sort(all)
			return usageError{fmt.Errorf("no such warning %q; the warnings are %s", w, strings.Join(all, ", "))}
		}
	}
	return nil
}

// enabled is the set of warnings shown: the defaults when --warnings names none (or with
// --include-default-warnings), plus those named, less those excluded.
func (o *checkConfigOptions) enabled() map[string]bool {
	on := map[string]bool{}
	if len(o.warnings) == 0 || o.includeDefaultWarnings {
		for _, w := range slices.Concat(checkedWarnings, uncheckedWarnings, prowlWarnings) {
			on[w] = true
		}
	}
	for _, w := range o.warnings {
		on[w] = true
	}
	if on[config.WarnUnknownFieldsAll] {
		on[config.WarnUnknownFields] = true
	}
	for _, w := range o.exclude {
		delete(on, w)
	}
	return on
}

func newCheckConfigCommand(stdout, stderr io.Writer) *cobra.Command {
	var o checkConfigOptions
	cmd := &cobra.Command{
		Use:   "checkconfig --config-path FILE [--job-config-path DIR] [--plugin-config FILE] [--strict]",
		Short: "Load, default and validate Prow's config; print every problem",
		Long: `checkconfig loads Prow's config exactly as the components do, defaults it and validates it,
and with --plugin-config plugins.yaml too. It prints every problem on stderr, one per line, naming
the file, line, job and field, and exits 1 when the config is invalid. A valid config exits 0 and
the last line on stdout counts the jobs. Warnings are named as in Prow's checkconfig and selected
with --warnings and --exclude-warning; --strict makes every warning shown an error.`,
		Example: `  prowl checkconfig --config-path config/prow/config.yaml --job-config-path config/jobs
  prowl checkconfig --config-path config.yaml --plugin-config plugins.yaml --exclude-warning non-decorated-jobs`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return runCheckConfig(&o, stdout, stderr)
		},
	}
	o.config.add(cmd)
	f := cmd.Flags()
	f.BoolVar(&o.strict, "strict", false, "treat unknown keys, stricter-than-Prow rules and every warning shown as errors")
	f.StringVar(&o.pluginConfig, "plugin-config", "", "Prow's plugins.yaml, validated too")
	f.StringArrayVar(&o.warnings, "warnings", nil, "a warning to show; repeat for several (default: Prow's default set and Prowl's own)")
	f.StringArrayVar(&o.exclude, "exclude-warning", nil, "a warning not to show; repeat for several")
	f.BoolVar(&o.includeDefaultWarnings, "include-default-warnings", false, "show the default warnings as well as those --warnings names")
	f.BoolVar(&o.expensive, "expensive-checks", false, "accepted for Prow's sake; Prowl has no expensive checks (verify-owners-presence needs GitHub)")
	f.StringArrayVar(&o.requiredAnnotations, "required-job-annotations", nil, "an annotation every job must have; repeat for several")
	f.StringVar(&o.prowYAMLRepoName, "prow-yaml-repo-name", "", "accepted for Prow's sake: Prowl does not read in-repo config (.prow.yaml) yet and checks nothing for it")
	f.StringVar(&o.prowYAMLPath, "prow-yaml-path", "", "accepted for Prow's sake, with --prow-yaml-repo-name")
	return cmd
}

// runCheckConfig loads everything, prints every error and the enabled warnings, and returns the
// exit status: 1 for any error, or with --strict for any warning shown.
func runCheckConfig(o *checkConfigOptions, stdout, stderr io.Writer) error {
	on := o.enabled()
	c, warnings, err := config.Load(o.config.options(o.strict))
	var problems config.Errors
	if err != nil && !errors.As(err, &problems) {
		return err
	}
	errorLines := problemLines(problems)
	var pluginsCfg *plugins.Config
	if o.pluginConfig != "" {
		var perrs, pwarns []string
		pluginsCfg, perrs, pwarns = checkPlugins(o.pluginConfig)
		errorLines = append(errorLines, perrs...)
		if on[pluginConfigWarning] {
			for _, w := range pwarns {
				warnings = append(warnings, &config.Problem{Msg: w, Warning: pluginConfigWarning})
			}
		}
	}
	if c != nil {
		lint := config.LintOptions{RequiredJobAnnotations: o.requiredAnnotations}
		if pluginsCfg != nil {
			lint.TriggerEnabled = func(org, repo string) bool { return pluginsCfg.Enabled(org, repo, "trigger") }
		}
		warnings = append(warnings, c.Lint(lint)...)
	}
	if o.prowYAMLRepoName != "" {
		fmt.Fprintf(stderr, "note: Prowl does not read in-repo config (.prow.yaml) yet; nothing was checked for %s\n", o.prowYAMLRepoName)
	}
	shown := 0
	for _, w := range warnings {
		if w.Warning == "" || on[w.Warning] {
			fmt.Fprintf(stderr, "warning: %v [%s]\n", w, w.Warning)
			shown++
		}
	}
	for _, line := range errorLines {
		fmt.Fprintf(stderr, "error: %s\n", line)
	}
	switch {
	case len(errorLines) > 0:
		fmt.Fprintf(stderr, "%d errors: the config is invalid\n", len(errorLines))
		return exitError{ExitFailure}
	case o.strict && shown > 0:
		fmt.Fprintf(stderr, "%d warnings, and --strict makes them errors\n", shown)
		return exitError{ExitFailure}
	}
	fmt.Fprintln(stdout, c.Summary())
	return nil
}

func problemLines(ps config.Errors) []string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return lines
}

// checkPlugins loads and validates plugins.yaml, and returns its errors and warnings as lines
// naming the file and line.
func checkPlugins(path string) (cfg *plugins.Config, errs, warnings []string) {
	cfg, err := plugins.Load(path)
	if err != nil {
		return nil, []string{err.Error()}, nil
	}
	raw, _ := os.ReadFile(path)
	lines := strings.Split(string(raw), "\n")
	format := func(f plugins.Finding) string {
		if n := findKeyLine(lines, f.Key); n > 0 {
			return fmt.Sprintf("%s:%d: %s: %s", path, n, f.Key, f.Msg)
		}
		return fmt.Sprintf("%s: %s: %s", path, f.Key, f.Msg)
	}
	ferrs, fwarns := cfg.Validate()
	for _, f := range ferrs {
		errs = append(errs, format(f))
	}
	for _, f := range fwarns {
		warnings = append(warnings, format(f))
	}
	return cfg, errs, warnings
}

// findKeyLine finds "section.key" in a YAML file's lines: the section's top-level line, then the
// key's line after it (the key may hold dots and slashes, as org/repo names do).
func findKeyLine(lines []string, key string) int {
	section, sub, _ := strings.Cut(key, ".")
	at := 0
	for i, l := range lines {
		if strings.HasPrefix(l, section+":") {
			at = i + 1
			break
		}
	}
	if at == 0 || sub == "" {
		return at
	}
	re := regexp.MustCompile(`^\s+["']?` + regexp.QuoteMeta(sub) + `["']?:`)
	for i := at; i < len(lines); i++ {
		if re.MatchString(lines[i]) {
			return i + 1
		}
	}
	return at
}
