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
		// Every command found is a line of the stripped body that starts with it.
		for flag, cmd := range map[*bool]string{&c.Retest: "/retest", &c.OkToTest: "/ok-to-test", &c.TestAll: "/test", &c.Help: "/test", &c.Test: "/test"} {
			if *flag && !hasLineStarting(c.Body, cmd) {
				t.Errorf("%q: found %s, but no line of %q starts with it", body, cmd, c.Body)
			}
		}
	})
}

func hasLineStarting(body, cmd string) bool {
	for _, line := range strings.Split(body, "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.EqualFold(f[0], cmd) {
			return true
		}
	}
	return false
}
