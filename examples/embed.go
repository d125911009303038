// Package examples embeds the example config, which `prowl up` runs when given none: a prow config
// and the seed's echo-test periodic.
package examples

import "embed"

// Files holds config.yaml and jobs/.
//
//go:embed config.yaml jobs/*.yaml
var Files embed.FS
