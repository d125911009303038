package spyglass

import (
	"context"
	"encoding/xml"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// The JUnit lens: every JUnit file its config matched (by default junit*.xml below the run;
// suites nest), totals, failures first with message and output, then flaky tests (failed, then
// passed, in the same run), then skipped.

// junitFileLimit bounds one JUnit file.
const junitFileLimit = 64 << 20

type junitSuite struct {
	Name   string       `xml:"name,attr"`
	Cases  []junitCase  `xml:"testcase"`
	Suites []junitSuite `xml:"testsuite"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failures  []junitResult `xml:"failure"`
	Errors    []junitResult `xml:"error"`
	Skipped   *junitResult  `xml:"skipped"`
	SystemOut string        `xml:"system-out"`
	SystemErr string        `xml:"system-err"`
}

type junitResult struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// testView is one test as the lens shows it.
type testView struct {
	Name, File, Time, Message, Output string
}

type junitView struct {
	Tests, Passed, Failed, Flaky, Skipped int
	Failures, Flakes, Skips, Passes       []testView
	Errors                                []string
	Files                                 int
	Truncated                             bool
}

// parseJUnit reads one file: a <testsuites> or a single <testsuite>, suites nested any deep.
func parseJUnit(data []byte) ([]junitSuite, error) {
	var root struct {
		XMLName xml.Name
		Name    string       `xml:"name,attr"`
		Cases   []junitCase  `xml:"testcase"`
		Suites  []junitSuite `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	switch root.XMLName.Local {
	case "testsuites":
		return root.Suites, nil
	case "testsuite":
		return []junitSuite{{Name: root.Name, Cases: root.Cases, Suites: root.Suites}}, nil
	}
	return nil, fmt.Errorf("root element is <%s>, not <testsuites> or <testsuite>", root.XMLName.Local)
}

// outcome of one test name across every file.
type outcome struct {
	failed, passed, skipped bool
	fail, last              testView
}

func collectCases(suites []junitSuite, file string, into map[string]*outcome, order *[]string) {
	for _, s := range suites {
		for _, c := range s.Cases {
			name := c.Name
			if c.ClassName != "" {
				name = c.ClassName + "." + c.Name
			}
			o, ok := into[name]
			if !ok {
				o = &outcome{}
				into[name] = o
				*order = append(*order, name)
			}
			tv := testView{Name: name, File: file, Time: c.Time, Output: strings.TrimSpace(c.SystemOut + "\n" + c.SystemErr)}
			switch {
			case len(c.Failures)+len(c.Errors) > 0:
				res := append(c.Failures, c.Errors...)[0]
				tv.Message = res.Message
				tv.Output = strings.TrimSpace(res.Text + "\n" + tv.Output)
				o.failed, o.fail = true, tv
			case c.Skipped != nil:
				tv.Message = c.Skipped.Message
				o.skipped = true
			default:
				o.passed = true
			}
			o.last = tv
		}
		collectCases(s.Suites, file, into, order)
	}
}

// junitLens reads every file its config matched (Prow's: junit*.xml under artifacts/).
func (h *Handler) junitLens(ctx context.Context, _ *http.Request, rn *run, lf lensFiles) (template.HTML, error) {
	files := lf.files
	if len(files) == 0 {
		return "", errNothing
	}
	v := junitView{Files: len(files), Truncated: !rn.walkDone}
	parsed := make([][]junitSuite, len(files))
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Go(func() {
			data, err := readRunFile(ctx, rn, f, junitFileLimit)
			if err == nil {
				parsed[i], err = parseJUnit(data)
			}
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", f, err)
			}
		})
	}
	wg.Wait()
	outcomes, order := map[string]*outcome{}, []string{}
	for i, f := range files {
		if errs[i] != nil {
			v.Errors = append(v.Errors, errs[i].Error())
			continue
		}
		collectCases(parsed[i], f, outcomes, &order)
	}
	tally(&v, outcomes, order)
	body := h.render("junit", v)
	if len(v.Errors) == len(files) {
		return body, fmt.Errorf("no JUnit file could be read: %s", v.Errors[0])
	}
	return body, nil
}

func tally(v *junitView, outcomes map[string]*outcome, order []string) {
	for _, name := range order {
		o := outcomes[name]
		v.Tests++
		switch {
		case o.failed && o.passed:
			v.Flaky++
			v.Flakes = append(v.Flakes, o.fail)
		case o.failed:
			v.Failed++
			v.Failures = append(v.Failures, o.fail)
		case o.skipped && !o.passed:
			v.Skipped++
			v.Skips = append(v.Skips, o.last)
		default:
			v.Passed++
			v.Passes = append(v.Passes, o.last)
		}
	}
	sort.SliceStable(v.Failures, func(i, j int) bool { return v.Failures[i].Name < v.Failures[j].Name })
}
