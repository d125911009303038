// Package config loads Prow's two inputs unchanged: the prow config file (--config-path) and the
// job config (--job-config-path, one file or a directory tree). It defaults them as Prow does
// (presets, decoration defaults, job defaults), validates them with every check Prow makes, and
// reports each problem with its file, line, job and field. An Agent keeps the config in force and
// reloads it when its files change.
package config
