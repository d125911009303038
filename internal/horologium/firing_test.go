package horologium

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prowl-ci/prowl/internal/config"
)

// TestLatestFiring covers schedules that fire often, rarely, and never (robfig/cron returns the
// zero time for a schedule with no next firing; that must not loop).
func TestLatestFiring(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	jobs := "periodics:\n" +
		"- {name: five, cron: '*/5 * * * *', spec: {containers: [{image: a, command: [x]}]}}\n" +
		"- {name: never, cron: '0 0 30 2 *', spec: {containers: [{image: a, command: [x]}]}}\n"
	if err := os.WriteFile(filepath.Join(dir, "j.yaml"), []byte(jobs), 0o644); err != nil {
		t.Fatal(err)
	}
	c, _, err := config.Load(config.Options{JobConfigPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	at := func(h, m int) time.Time { return time.Date(2030, 1, 1, h, m, 0, 0, time.UTC) }
	if f, ok := latestFiring(&c.Periodics[0], at(10, 3), at(10, 17)); !ok || !f.Equal(at(10, 15)) {
		t.Errorf("*/5 between 10:03 and 10:17: %v %v, want 10:15", f, ok)
	}
	if _, ok := latestFiring(&c.Periodics[0], at(10, 5), at(10, 9)); ok {
		t.Error("*/5 fired between 10:05 (exclusive) and 10:09")
	}
	done := make(chan bool)
	go func() { _, ok := latestFiring(&c.Periodics[1], at(10, 0), at(12, 0)); done <- ok }()
	select {
	case ok := <-done:
		if ok {
			t.Error("a schedule that never fires fired")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("latestFiring loops on a schedule that never fires")
	}
}
