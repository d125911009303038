package plugins

import (
	"regexp"
	"strings"
)

// Commands are the trigger commands in one comment.
type Commands struct {
	// Body is the comment with code stripped: what job triggers are matched against.
	Body string
	// TestAll is `/test all`; Retest is `/retest`; OkToTest is `/ok-to-test`; Help is `/test ?`
	// (or `/test` alone).
	TestAll, Retest, OkToTest, Help bool
	// Test is true when the comment has any `/test <something>` line besides all and ?.
	Test bool
}

// Any says whether the comment asks trigger for anything.
func (c Commands) Any() bool { return c.TestAll || c.Retest || c.OkToTest || c.Help || c.Test }

var (
	fenced     = regexp.MustCompile("(?s)```.*?(```|$)")
	inlineCode = regexp.MustCompile("`[^`\n]*`")
	quoted     = regexp.MustCompile(`(?m)^>.*$`)
)

// StripCode removes what a comment quotes or shows as code: fenced blocks, inline code and
// quoted lines, so `/test` inside them starts nothing, as in Prow.
func StripCode(body string) string {
	body = fenced.ReplaceAllString(body, "")
	body = inlineCode.ReplaceAllString(body, "")
	return quoted.ReplaceAllString(body, "")
}

// ParseCommands reads the commands of a comment: one per line, at the line's start.
func ParseCommands(body string) Commands {
	c := Commands{Body: StripCode(strings.ReplaceAll(body, "\r\n", "\n"))}
	for _, line := range strings.Split(c.Body, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		switch strings.ToLower(fields[0]) {
		case "/retest":
			c.Retest = true
		case "/ok-to-test":
			c.OkToTest = true
		case "/test":
			switch {
			case len(fields) == 1 || fields[1] == "?":
				c.Help = true
			case fields[1] == "all":
				c.TestAll = true
			default:
				c.Test = true
			}
		}
	}
	return c
}
