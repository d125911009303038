package spyglass

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"sort"

	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/storage"
)

// Which lenses a run page shows, and on which files, is decided as Prow's Spyglass decides it
// from deck.spyglass.lenses: an entry's lens shows when each of its required_files regexes
// matches at least one of the run's files (paths relative to the run directory, the regex
// unanchored unless it anchors itself); the lens gets every file its required and optional
// regexes matched, and its entry's config. Lenses show by Prow's priority (metadata 0, junit 5,
// buildlog 10, links 20), then by name. The artifacts listing is Prowl's and always shows.

// lensFiles is what one deck.spyglass.lenses entry gives its lens for a run.
type lensFiles struct {
	// files are the run's files the entry's regexes matched, sorted.
	files []string
	// config is the entry's lens.config.
	config json.RawMessage
}

// lensRender renders a lens for a run; errNothing leaves it out.
type lensRender func(ctx context.Context, r *http.Request, rn *run, lf lensFiles) (template.HTML, error)

// lensDef is one of Prowl's lenses under its Prow name.
type lensDef struct {
	title    string
	priority int
	render   lensRender
}

func (h *Handler) lensDefs() map[string]lensDef {
	return map[string]lensDef{
		"metadata": {"Metadata", 0, h.metadataLens},
		"junit":    {"Test results", 5, h.junitLens},
		"buildlog": {"Build log", 10, h.buildLogLens},
		"links":    {"Links", 20, h.linksLens},
	}
}

// prowOnlyLenses are Prow's lenses that Prowl does not have: their entries are skipped.
var prowOnlyLenses = map[string]bool{"coverage": true, "html": true, "markdown": true, "podinfo": true, "restcoverage": true}

// defaultLenses stand in for an absent deck.spyglass.lenses. Prow itself shows no lens then;
// these are the entries of Prow's starter configs (config/prow/cluster/starter) and test-infra's
// links entry, minus podinfo.
var defaultLenses = []config.LensFileConfig{
	{RequiredFiles: []string{`^(?:started|finished)\.json$`}, OptionalFiles: []string{`^(?:podinfo|prowjob)\.json$`}, Lens: config.LensConfig{Name: "metadata"}},
	{RequiredFiles: []string{`build-log.txt`}, Lens: config.LensConfig{Name: "buildlog"}},
	{RequiredFiles: []string{`.*/junit.*\.xml`}, Lens: config.LensConfig{Name: "junit"}},
	{RequiredFiles: []string{`artifacts/.*\.link\.txt`}, Lens: config.LensConfig{Name: "links"}},
}

// lensEntries are the config's deck.spyglass.lenses, or the defaults when there are none.
func lensEntries(cfg *config.Config) ([]config.LensFileConfig, error) {
	d, err := cfg.DeckSpyglass()
	if err != nil {
		return defaultLenses, err
	}
	if len(d.Spyglass.Lenses) == 0 {
		return defaultLenses, nil
	}
	return d.Spyglass.Lenses, nil
}

// chosenLens is a lens the run page shows: rendered, or an error that says what to fix.
type chosenLens struct {
	lens
	files lensFiles
	prio  int
	name  string
	err   error
}

// chooseLenses matches the config's entries against the run's files.
func (h *Handler) chooseLenses(ctx context.Context, rn *run) ([]chosenLens, error) {
	entries, cfgErr := lensEntries(h.o.Config())
	names, err := rn.fileNames(ctx)
	if err != nil {
		return nil, err
	}
	defs := h.lensDefs()
	var out []chosenLens
	for i, e := range entries {
		field := fmt.Sprintf("deck.spyglass.lenses[%d]", i)
		def, ok := defs[e.Lens.Name]
		if !ok {
			if !prowOnlyLenses[e.Lens.Name] {
				out = append(out, chosenLens{lens: lens{id: "lens-" + fmt.Sprint(i), title: "Lens " + e.Lens.Name}, prio: 1 << 30,
					err: fmt.Errorf("%s.lens.name %q is not a lens: Prowl's are metadata, buildlog, junit and links; fix or remove the entry", field, e.Lens.Name)})
			}
			continue
		}
		files, ok, err := matchLensFiles(field, e, names)
		c := chosenLens{lens: lens{id: e.Lens.Name, title: def.title}, prio: def.priority, name: e.Lens.Name, err: err}
		if err == nil && !ok {
			continue
		}
		c.files = lensFiles{files: files, config: e.Lens.Config}
		c.render = def.render
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].prio != out[j].prio {
			return out[i].prio < out[j].prio
		}
		return out[i].name < out[j].name
	})
	uniqueIDs(out)
	return out, cfgErr
}

// uniqueIDs suffixes the section IDs of a lens configured more than once.
func uniqueIDs(ls []chosenLens) {
	seen := map[string]int{}
	for i := range ls {
		seen[ls[i].id]++
		if n := seen[ls[i].id]; n > 1 {
			ls[i].id = fmt.Sprintf("%s-%d", ls[i].id, n)
		}
	}
}

// matchLensFiles applies one entry's regexes: ok when every required regex matched a file.
func matchLensFiles(field string, e config.LensFileConfig, names []string) ([]string, bool, error) {
	matched := map[string]bool{}
	match := func(kind string, i int, expr string) (bool, error) {
		re, err := regexp.Compile(expr)
		if err != nil {
			return false, fmt.Errorf("%s.%s[%d] %q is not a regular expression: %w", field, kind, i, expr, err)
		}
		found := false
		for _, n := range names {
			if re.MatchString(n) {
				matched[n], found = true, true
			}
		}
		return found, nil
	}
	all := true
	for i, expr := range e.RequiredFiles {
		found, err := match("required_files", i, expr)
		if err != nil {
			return nil, false, err
		}
		all = all && found
	}
	if !all {
		return nil, false, nil
	}
	for i, expr := range e.OptionalFiles {
		if _, err := match("optional_files", i, expr); err != nil {
			return nil, false, err
		}
	}
	files := make([]string, 0, len(matched))
	for n := range matched {
		files = append(files, n)
	}
	sort.Strings(files)
	return files, true, nil
}

// runWalkLimit bounds the objects of a run that lens regexes are matched against.
const runWalkLimit = 50000

// fileNames are the run's files, relative to its directory, read once for every lens: the first
// runWalkLimit objects under the run, and build-log.txt while the run has a ProwJob (its log
// comes from the Pod until the sidecar uploads it, as Prow's pod log artifact does).
func (rn *run) fileNames(ctx context.Context) ([]string, error) {
	rn.walkOnce.Do(func() {
		rn.walked = map[string]storage.Entry{}
		walk := func(e storage.Entry) bool { rn.walked[e.Name] = e; return true }
		if rn.loc.Provider == "file" {
			rn.walkDone, rn.walkErr = storage.WalkFile(ctx, rn.bucket, rn.loc.Name, rn.loc.Key, runWalkLimit, walk)
		} else {
			rn.walkDone, rn.walkErr = storage.Walk(ctx, rn.bucket, rn.loc.Key, runWalkLimit, walk)
		}
	})
	if rn.walkErr != nil {
		return nil, fmt.Errorf("list the files of run %s: %w", rn.loc.URL(), rn.walkErr)
	}
	names := make([]string, 0, len(rn.walked)+1)
	for n := range rn.walked {
		names = append(names, n)
	}
	if _, ok := rn.walked[buildLogName]; !ok && rn.pj != nil {
		names = append(names, buildLogName)
	}
	sort.Strings(names)
	return names, nil
}
