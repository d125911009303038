package config

import (
	"encoding/json"
	"fmt"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// DeckSpyglass is the part of Prow's deck section that Spyglass reads: which buckets it may
// open and how its lenses are configured. The rest of the deck section is Deck's.
type DeckSpyglass struct {
	// AdditionalAllowedBuckets are buckets Spyglass may read besides those the decoration
	// configs upload to.
	AdditionalAllowedBuckets []string `json:"additional_allowed_buckets,omitempty"`
	// SkipStoragePathValidation lets Spyglass read any bucket. Prow defaults it to true for
	// old configs; Prowl defaults it to false: only known buckets are readable.
	SkipStoragePathValidation *bool `json:"skip_storage_path_validation,omitempty"`
	// Spyglass is deck.spyglass.
	Spyglass Spyglass `json:"spyglass,omitzero"`
}

// Spyglass is deck.spyglass: the run page's lenses and links.
type Spyglass struct {
	Lenses             []LensFileConfig  `json:"lenses,omitempty"`
	Announcement       string            `json:"announcement,omitempty"`
	BucketAliases      map[string]string `json:"bucket_aliases,omitempty"`
	HidePRHistLink     bool              `json:"hide_pr_history_link,omitempty"`
	PRHistLinkTemplate string            `json:"pr_history_link_template,omitempty"`
	GCSBrowserPrefix   string            `json:"gcs_browser_prefix,omitempty"`
	TestGridRoot       string            `json:"testgrid_root,omitempty"`
	TestGridConfig     string            `json:"testgrid_config,omitempty"`
}

// LensFileConfig is one entry of deck.spyglass.lenses: a lens and the files it shows.
type LensFileConfig struct {
	RequiredFiles []string   `json:"required_files"`
	OptionalFiles []string   `json:"optional_files,omitempty"`
	Lens          LensConfig `json:"lens"`
}

// LensConfig names a lens and carries its own config (for buildlog: highlight_regexes).
type LensConfig struct {
	Name   string          `json:"name"`
	Config json.RawMessage `json:"config,omitempty"`
}

// DeckSpyglass decodes the Spyglass fields of the deck section; an absent section is the zero value.
func (c *ProwConfig) DeckSpyglass() (DeckSpyglass, error) {
	var d DeckSpyglass
	if len(c.Deck) == 0 {
		return d, nil
	}
	if err := json.Unmarshal(c.Deck, &d); err != nil {
		return d, fmt.Errorf("deck.spyglass: %w", err)
	}
	return d, nil
}

// AllKnownStorageBuckets are the buckets jobs upload to (Plank's default decoration configs and
// every job's own decoration config) and deck.additional_allowed_buckets, as written there.
func (c *Config) AllKnownStorageBuckets() []string {
	seen := map[string]bool{}
	var out []string
	add := func(dc *prowv1.DecorationConfig) {
		if dc == nil || dc.GCSConfiguration == nil || dc.GCSConfiguration.Bucket == "" || seen[dc.GCSConfiguration.Bucket] {
			return
		}
		seen[dc.GCSConfiguration.Bucket] = true
		out = append(out, dc.GCSConfiguration.Bucket)
	}
	for _, k := range SortedKeys(c.Plank.DefaultDecorationConfigs) {
		add(c.Plank.DefaultDecorationConfigs[k])
	}
	for _, e := range c.Plank.DefaultDecorationConfigEntries {
		add(e.Config)
	}
	for _, p := range c.Periodics {
		add(p.DecorationConfig)
	}
	for _, k := range SortedKeys(c.PresubmitsStatic) {
		for _, p := range c.PresubmitsStatic[k] {
			add(p.DecorationConfig)
		}
	}
	for _, k := range SortedKeys(c.PostsubmitsStatic) {
		for _, p := range c.PostsubmitsStatic[k] {
			add(p.DecorationConfig)
		}
	}
	if d, err := c.DeckSpyglass(); err == nil {
		for _, b := range d.AdditionalAllowedBuckets {
			if !seen[b] {
				seen[b] = true
				out = append(out, b)
			}
		}
	}
	return out
}
