package config

import (
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// Deck is the part of Prow's `deck` section that decides who may rerun and abort jobs. The rest
// of the section (spyglass, tide_update_period, ...) is read by its own users from the raw section.
type Deck struct {
	// RerunAuthConfigs is Prow's older form, keyed "*", an org or "org/repo".
	RerunAuthConfigs map[string]prowv1.RerunAuthConfig `json:"rerun_auth_configs,omitempty"`
	// DefaultRerunAuthConfigs is Prow's newer form: entries matched by repo and cluster, the last
	// match winning.
	DefaultRerunAuthConfigs []DefaultRerunAuthConfigEntry `json:"default_rerun_auth_configs,omitempty"`
}

// DefaultRerunAuthConfigEntry is who may rerun the jobs of a repo ("org" or "org/repo"; "" or "*"
// for all) on a cluster ("" or "*" for all).
type DefaultRerunAuthConfigEntry struct {
	OrgRepo string                  `json:"repo,omitempty"`
	Cluster string                  `json:"cluster,omitempty"`
	Config  *prowv1.RerunAuthConfig `json:"rerun_auth_configs,omitempty"`
}

// DeckConfig decodes and validates the deck section. rerun_auth_configs and
// default_rerun_auth_configs are mutually exclusive, as in Prow; the map form is turned into
// entries ordered "*", orgs, then org/repos, so the most specific match wins.
func (c *ProwConfig) DeckConfig() (*Deck, error) {
	d := &Deck{}
	if len(c.Deck) > 0 {
		if err := yaml.Unmarshal(c.Deck, d); err != nil {
			return nil, fmt.Errorf("deck: %w", err)
		}
	}
	if p := d.rerunAuthExclusive(); p != nil {
		return nil, p
	}
	keys := make([]string, 0, len(d.RerunAuthConfigs))
	for k := range d.RerunAuthConfigs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		si, sj := specificity(keys[i]), specificity(keys[j])
		if si != sj {
			return si < sj
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		if strings.Count(k, "/") > 1 {
			return nil, fmt.Errorf("deck: rerun_auth_configs: key %q is not \"*\", an org or org/repo", k)
		}
		rac := d.RerunAuthConfigs[k]
		d.DefaultRerunAuthConfigs = append(d.DefaultRerunAuthConfigs, DefaultRerunAuthConfigEntry{OrgRepo: k, Config: &rac})
	}
	for i, e := range d.DefaultRerunAuthConfigs {
		if e.Config == nil {
			return nil, fmt.Errorf("deck: default_rerun_auth_configs[%d]: rerun_auth_configs is missing; say who may rerun", i)
		}
	}
	return d, nil
}

// rerunAuthExclusive is Prow's rule (its config loading refuses the config, and so does
// checkconfig): rerun_auth_configs and default_rerun_auth_configs may not both be set, where set
// means at least one entry, as Prow counts them. Nil when the rule holds.
func (d *Deck) rerunAuthExclusive() *Problem {
	if len(d.RerunAuthConfigs) == 0 || len(d.DefaultRerunAuthConfigs) == 0 {
		return nil
	}
	return &Problem{Field: "deck.default_rerun_auth_configs", Msg: "deck.rerun_auth_configs and deck.default_rerun_auth_configs are mutually exclusive, please use one " +
		"or the other: move each rerun_auth_configs entry KEY into default_rerun_auth_configs as `- repo: KEY` with its rule under `rerun_auth_configs:`, " +
		"and remove rerun_auth_configs"}
}

// RerunAuthConfig is the config-level rule for a job: the last default_rerun_auth_configs entry
// that matches its repo (refs, else extra_refs[0]) and cluster; nil when none does.
func (d *Deck) RerunAuthConfig(spec *prowv1.ProwJobSpec) *prowv1.RerunAuthConfig {
	var orgRepo string
	if spec.Refs != nil {
		orgRepo = spec.Refs.Org + "/" + spec.Refs.Repo
	} else if len(spec.ExtraRefs) > 0 {
		orgRepo = spec.ExtraRefs[0].Org + "/" + spec.ExtraRefs[0].Repo
	}
	var out *prowv1.RerunAuthConfig
	for _, e := range d.DefaultRerunAuthConfigs {
		if (DefaultDecorationConfigEntry{OrgRepo: e.OrgRepo, Cluster: e.Cluster}).matches(orgRepo, spec.Cluster) {
			out = e.Config
		}
	}
	return out
}

// validateDeck checks the deck section's rules that Prow's config loading checks: the section
// decodes, and rerun_auth_configs and default_rerun_auth_configs are not both set. Deck's own
// stricter rules stay with Deck (DeckConfig), so a config Prow loads still loads.
func (l *loader) validateDeck(c *Config) {
	if len(c.Deck) == 0 {
		return
	}
	d := &Deck{}
	if err := yaml.Unmarshal(c.Deck, d); err != nil {
		l.fail(&Problem{File: l.opts.ConfigPath, Field: "deck", Msg: err.Error()})
		return
	}
	if p := d.rerunAuthExclusive(); p != nil {
		p.File = l.opts.ConfigPath
		l.fail(p)
	}
}
