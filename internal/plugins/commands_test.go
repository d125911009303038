package plugins

import (
	"strings"
	"testing"
)

func TestParseCommands(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]Commands{
		"/test all":            {TestAll: true},
		"/retest\n/ok-to-test": {Retest: true, OkToTest: true},
		"/test ?":              {Help: true},
		"/test":                {Help: true},
		"/test unit e2e":       {Test: true},
		"please /test unit":    {},
		"```\n/test unit\n```": {},
		"` /test unit`":        {},
		"> /test unit":         {},
		"/TEST unit":           {Test: true},
		"/test-unit":           {},
		"```\n/retest\n":       {}, // an unclosed fence runs to the end
	} {
		got := ParseCommands(body)
		got.Body = ""
		if got != want {
			t.Errorf("%q: %+v, want %+v", body, got, want)
		}
	}
}

func FuzzParseCommands(f *testing.F) {
	for _, s := range []string{"/test all", "/retest", "/ok-to-test", "/test ?", "```\n/test x\n```", "`/test x`", "> /test x", "/TEST foo bar", "```", "\r\n/test\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		c := ParseCommands(body)
		if strings.Contains(c.Body, "```") && strings.Count(body, "```") >= 2 && strings.Count(c.Body, "```") >= 2 {
			t.Errorf("a fenced block survived: %q", c.Body)
		}
		_ = c.Any()
	})
}
