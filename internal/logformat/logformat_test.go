package logformat

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// A text line is short: time, logger name, message, error and the job's keys, with no stack
// trace, no controller-runtime bookkeeping and no debug records.
func TestTextLines(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := New(Text, &buf)
	if err != nil {
		t.Fatal(err)
	}
	rec := log.WithName("plank").WithValues("controllerGroup", "prow.k8s.io", "reconcileID", "abc", "name", "pj-1")
	rec.Info("state changed", "job", "echo-test", "from", "pending", "to", "success", "url", "http://deck/view/1", "description", "", "name", "pj-1")
	rec.Error(errors.New("the object has been modified"), "update status")
	rec.V(1).Info("debug detail")
	log.Info("Starting workers", "controller", "prowjob")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %d:\n%s", len(lines), buf.String())
	}
	if !strings.HasSuffix(lines[0], " plank: state changed job=echo-test from=pending to=success url=http://deck/view/1 name=pj-1") {
		t.Errorf("state change line: %q", lines[0])
	}
	if !strings.HasSuffix(lines[1], " ERROR plank: update status: the object has been modified name=pj-1") {
		t.Errorf("error line: %q", lines[1])
	}
	if strings.Contains(buf.String(), "reconcileID") || strings.Contains(buf.String(), ".go:") {
		t.Errorf("bookkeeping or a stack trace in text lines:\n%s", buf.String())
	}
}

func TestFormats(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := New(JSON, &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hello", "job", "j")
	if !strings.HasPrefix(buf.String(), "{") || !strings.Contains(buf.String(), `"job":"j"`) {
		t.Errorf("json: %q", buf.String())
	}
	buf.Reset()
	log.WithName("plank").Error(errors.New(`build cluster "b" is not known to Plank`), "Reconciler error", "name", "pj-1")
	if lines := strings.Count(buf.String(), "\n"); lines != 1 || strings.Contains(buf.String(), "stacktrace") || strings.Contains(buf.String(), ".go:") {
		t.Errorf("an error in json is one record with no stack trace, got %d lines: %s", lines, buf.String())
	}
	if _, err := New("yaml", &buf); err == nil || !strings.Contains(err.Error(), "text or json") {
		t.Errorf("an unknown format: %v", err)
	}
	if got := Default(&buf); got != JSON {
		t.Errorf("default for a buffer: %s, want json", got)
	}
	if got := quote("a b"); got != `"a b"` {
		t.Errorf("quote: %s", got)
	}
}
