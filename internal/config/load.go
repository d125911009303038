package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Options say which files make up the config and how strictly to read them.
type Options struct {
	// ConfigPath is Prow's config file (--config-path); it may hold jobs and presets too.
	ConfigPath string
	// JobConfigPath is one job config file, or a directory searched recursively (--job-config-path).
	JobConfigPath string
	// Strict makes unknown keys errors instead of warnings.
	Strict bool
	// Placeholders are replaced by their values in every file's text before it is decoded, on
	// every load: `prowl up` and `prowl run` use the repository's examples/ in place this way
	// (PROWL_DATA_DIR, PROWL_GIT_URL). A value holds no newline, so line numbers stay right.
	Placeholders map[string]string
}

// expand is raw with the placeholders replaced.
func (o Options) expand(raw []byte) []byte {
	for k, v := range o.Placeholders {
		raw = bytes.ReplaceAll(raw, []byte(k), []byte(v))
	}
	return raw
}

// Config is Prow's whole configuration, loaded, defaulted and validated.
type Config struct {
	ProwConfig
	JobConfig
}

// jobKeys are the top-level keys of a job config; the prow config file may hold them too.
var jobKeys = map[string]bool{"presets": true, "presubmits": true, "postsubmits": true, "periodics": true, "decorate_all_jobs": true, "prow_ignored": true}

// prowTypedKeys are the prow config's top-level keys that ProwConfig types.
var prowTypedKeys = func() map[string]bool {
	keys := map[string]bool{}
	for k := range jsonFields(reflect.TypeFor[ProwConfig]()) {
		keys[k] = true
	}
	return keys
}()

// Load reads, defaults and validates the config. It returns the warnings (unknown keys, when not
// strict) and, when the config is invalid, an Errors listing every problem found.
func Load(o Options) (*Config, []*Problem, error) {
	if o.ConfigPath == "" && o.JobConfigPath == "" {
		return nil, nil, fmt.Errorf("no config given: set --config-path, --job-config-path, or both")
	}
	l := &loader{opts: o}
	c := &Config{}
	if o.ConfigPath != "" {
		if err := l.loadProwConfig(c); err != nil {
			return nil, nil, err
		}
	}
	if o.JobConfigPath != "" {
		if err := l.loadJobConfigs(c); err != nil {
			return nil, nil, err
		}
	}
	l.finalize(c)
	var loc locator
	for _, p := range append(l.errors, l.warnings...) {
		loc.locate(p)
	}
	sortProblems(l.errors)
	sortProblems(l.warnings)
	if len(l.errors) > 0 {
		return nil, l.warnings, Errors(l.errors)
	}
	return c, l.warnings, nil
}

// loader accumulates problems while loading.
type loader struct {
	opts       Options
	mu         sync.Mutex
	errors     []*Problem
	warnings   []*Problem
	seen       map[string]int             // jobs validated so far, by file and name
	validators map[*JobBase]*jobValidator // each job's validator
	regexps    map[string]compiled        // compiled patterns, by expression
}

// finalize defaults and validates the whole config, in that order, as Prow does, recording every
// problem.
func (l *loader) finalize(c *Config) {
	c.defaultProwConfig()
	l.validateProwConfig(c)
	l.defaultJobs(c)
	l.validateJobs(c)
}

func (l *loader) fail(p *Problem) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errors = append(l.errors, p)
}

// stricter records a rule Prow does not have: a warning, or with --strict an error.
func (l *loader) stricter(p *Problem) {
	p.Warning = WarnStricterThanProw
	if l.opts.Strict {
		l.fail(p)
		return
	}
	l.warn(p)
}

func (l *loader) warn(p *Problem) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.warnings = append(l.warnings, p)
}

func (l *loader) unknownKeys(file, prefix string, keys []string) {
	for _, k := range keys {
		p := &Problem{File: file, Field: join(prefix, k), Warning: unknownFieldsWarning(file, l.opts.ConfigPath), Msg: "unknown key; check its spelling against Prow's config documentation, or remove it"}
		l.mu.Lock()
		if l.opts.Strict {
			l.errors = append(l.errors, p)
		} else {
			p.Msg = "unknown key, ignored; check its spelling against Prow's config documentation, or remove it"
			l.warnings = append(l.warnings, p)
		}
		l.mu.Unlock()
	}
}

// unknownFieldsWarning names an unknown key's warning as Prow's checkconfig does: unknown-fields in
// the prow config file, unknown-fields-all (not a default warning) in job config files.
func unknownFieldsWarning(file, configPath string) string {
	if file == configPath {
		return WarnUnknownFields
	}
	return WarnUnknownFieldsAll
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// decodeFile decodes a whole file into v, reporting errors (with the line where the YAML decoder
// knows it) and unknown keys, except those top-level keys that keep says to keep.
func (l *loader) decodeFile(file string, raw []byte, v any, keep func(key string) bool) (generic map[string]any, ok bool) {
	unknown, generic, err := decodeYAML(raw, v)
	if err != nil {
		l.fail(decodeError(file, err))
		return nil, false
	}
	var report []string
	for _, k := range unknown {
		if keep == nil || strings.Contains(k, ".") || strings.Contains(k, "[") || !keep(k) {
			report = append(report, k)
		}
	}
	l.unknownKeys(file, "", report)
	return generic, true
}

func (l *loader) loadProwConfig(c *Config) error {
	file := l.opts.ConfigPath
	raw, err := readFile(file)
	if err != nil {
		return fmt.Errorf("read prow config: %w", err)
	}
	raw = l.opts.expand(raw)
	generic, ok := l.decodeFile(file, raw, c, func(k string) bool { return knownProwKeys[k] })
	if !ok {
		return nil
	}
	// Sections of Prow's config that Prowl does not type are kept as they were.
	for k, v := range generic {
		if _, typed := prowTypedKeys[k]; typed || jobKeys[k] {
			continue
		}
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if c.Other == nil {
			c.Other = map[string]json.RawMessage{}
		}
		c.Other[k] = data
	}
	c.ProwIgnored = nil
	c.setSource(file)
	return nil
}

// typeError turns a JSON type error into a problem naming the field.
func decodeError(file string, err error) *Problem {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &Problem{File: file, Field: cleanFieldPath(te.Field), Msg: fmt.Sprintf("cannot use a %s here: want %s", te.Value, friendlyType(te.Type.String()))}
	}
	p := &Problem{File: file, Msg: fmt.Sprintf("cannot decode: %v; fix the YAML", err)}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
	}
	return p
}

func friendlyType(t string) string {
	switch t {
	case "string":
		return "a string (quote it)"
	case "bool":
		return "true or false"
	case "int", "int64", "int32":
		return "a whole number"
	}
	if len(t) > 2 && t[:2] == "[]" {
		return "a list"
	}
	if len(t) > 3 && t[:3] == "map" {
		return "a mapping"
	}
	return t
}

type fileResult struct {
	jc JobConfig
	ok bool
}

// loadJobConfigs reads every job config file in parallel, straight into typed structs, then merges
// them in path order so that the result does not depend on scheduling.
func (l *loader) loadJobConfigs(c *Config) error {
	files, _, err := jobFiles(l.opts.JobConfigPath)
	if err != nil {
		return fmt.Errorf("list job configs: %w", err)
	}
	if len(files) == 0 {
		l.warn(&Problem{File: l.opts.JobConfigPath, Warning: WarnNoJobFiles, Msg: "holds no .yaml or .yml job config file (hidden directories such as a ConfigMap's ..data are skipped); check --job-config-path"})
	}
	results := make([]fileResult, len(files))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results[i] = l.loadJobFile(files[i])
			}
		}()
	}
	for i := range files {
		work <- i
	}
	close(work)
	wg.Wait()

	for i, r := range results {
		if !r.ok {
			continue
		}
		if r.jc.DecorateAllJobs {
			l.warn(&Problem{File: files[i], Field: "decorate_all_jobs", Warning: WarnIgnoredField, Msg: "is ignored in a job config file, as Prow ignores it there; move it to the prow config file (--config-path)"})
		}
		c.Presets = append(c.Presets, r.jc.Presets...)
		c.Periodics = append(c.Periodics, r.jc.Periodics...)
		for repo, jobs := range r.jc.PresubmitsStatic {
			if c.PresubmitsStatic == nil {
				c.PresubmitsStatic = map[string][]Presubmit{}
			}
			c.PresubmitsStatic[repo] = append(c.PresubmitsStatic[repo], jobs...)
		}
		for repo, jobs := range r.jc.PostsubmitsStatic {
			if c.PostsubmitsStatic == nil {
				c.PostsubmitsStatic = map[string][]Postsubmit{}
			}
			c.PostsubmitsStatic[repo] = append(c.PostsubmitsStatic[repo], jobs...)
		}
	}
	return nil
}

func (l *loader) loadJobFile(file string) fileResult {
	raw, err := readFile(file)
	if os.IsNotExist(err) {
		// Removed since the directory was listed (a ConfigMap update drops a key's link just
		// after its swap): the file is gone, as the next reload will see.
		return fileResult{}
	}
	if err != nil {
		l.fail(&Problem{File: file, Msg: fmt.Sprintf("cannot read: %v", err)})
		return fileResult{}
	}
	raw = l.opts.expand(raw)
	var r fileResult
	if _, ok := l.decodeFile(file, raw, &r.jc, nil); !ok {
		return fileResult{}
	}
	r.jc.ProwIgnored = nil
	r.jc.setSource(file)
	r.ok = true
	return r
}

// SortedKeys returns a map's keys in order, for deterministic iteration over repos.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// setSource records the file every job came from.
func (jc *JobConfig) setSource(file string) {
	for i := range jc.Periodics {
		jc.Periodics[i].SourcePath = file
	}
	for _, jobs := range jc.PresubmitsStatic {
		for i := range jobs {
			jobs[i].SourcePath = file
		}
	}
	for _, jobs := range jc.PostsubmitsStatic {
		for i := range jobs {
			jobs[i].SourcePath = file
		}
	}
}

// Summary counts the jobs: "N periodics, N presubmits, N postsubmits".
func (c *Config) Summary() string {
	pre, post := 0, 0
	for _, jobs := range c.PresubmitsStatic {
		pre += len(jobs)
	}
	for _, jobs := range c.PostsubmitsStatic {
		post += len(jobs)
	}
	return fmt.Sprintf("%d periodics, %d presubmits, %d postsubmits", len(c.Periodics), pre, post)
}

// embeddedTypes are the Go names of inlined structs, which encoding/json puts in field paths.
var embeddedTypes = map[string]bool{"JobBase": true, "UtilityConfig": true, "Brancher": true, "RegexpChangeMatcher": true, "Reporter": true, "ProwConfig": true, "JobConfig": true}

// cleanFieldPath turns encoding/json's field path into the YAML keys a user wrote.
func cleanFieldPath(field string) string {
	parts := strings.Split(field, ".")
	out := parts[:0]
	for _, p := range parts {
		if !embeddedTypes[p] {
			out = append(out, p)
		}
	}
	return strings.Join(out, ".")
}
