package local

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/prowl-ci/prowl/internal/config"
)

// MaxPeriodicsByDefault is how many periodics a config may have for prowl up to start them all
// when --periodics is not given: trying an organisation's whole config must not start a
// thousand jobs at once on one machine.
const MaxPeriodicsByDefault = 20

// derivedConfig is cfg with change applied to a shallow copy, made once per loaded config.
func derivedConfig(cfg func() *config.Config, change func(*config.Config)) func() *config.Config {
	var mu sync.Mutex
	var from, to *config.Config
	return func() *config.Config {
		c := cfg()
		mu.Lock()
		defer mu.Unlock()
		if c != from {
			derived := *c
			change(&derived)
			from, to = c, &derived
		}
		return to
	}
}

// periodicSelection is what --periodics asks for: all, none, or the periodics named.
type periodicSelection struct {
	all   bool
	names map[string]bool
}

// selectPeriodics reads --periodics for config c (nil: all up to MaxPeriodicsByDefault, else
// none) and says on w what Horologium will start.
func selectPeriodics(flag []string, c *config.Config, w io.Writer) (periodicSelection, error) {
	total := len(c.Periodics)
	switch {
	case flag == nil && total <= MaxPeriodicsByDefault, len(flag) == 1 && flag[0] == "all":
		return periodicSelection{all: true}, nil
	case flag == nil:
		fmt.Fprintf(w, "horologium: the config has %d periodics, more than %d: none start (--periodics=all starts them all, --periodics=NAME,... the ones named)\n", total, MaxPeriodicsByDefault)
		return periodicSelection{}, nil
	case len(flag) == 1 && flag[0] == "none":
		fmt.Fprintf(w, "horologium: no periodic starts (--periodics=none)\n")
		return periodicSelection{}, nil
	}
	known := map[string]bool{}
	for _, p := range c.Periodics {
		known[p.Name] = true
	}
	sel := periodicSelection{names: map[string]bool{}}
	var unknown []string
	for _, name := range flag {
		if !known[name] {
			unknown = append(unknown, name)
		}
		sel.names[name] = true
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return sel, fmt.Errorf("--periodics names %s, which the config has no periodic of; use all, none, or periodic names", strings.Join(unknown, ", "))
	}
	fmt.Fprintf(w, "horologium: %d of the config's %d periodics start (--periodics)\n", len(sel.names), total)
	return sel, nil
}

// filter is cfg with only the selected periodics, for Horologium.
func (s periodicSelection) filter(cfg func() *config.Config) func() *config.Config {
	if s.all {
		return cfg
	}
	return derivedConfig(cfg, func(c *config.Config) {
		var kept []config.Periodic
		for _, p := range c.Periodics {
			if s.names[p.Name] {
				kept = append(kept, p)
			}
		}
		c.Periodics = kept
	})
}
