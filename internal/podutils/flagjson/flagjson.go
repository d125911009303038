// Package flagjson turns a pod utility's command line into the JSON its options env var carries,
// so every utility takes its options either way: `--options JSON`, `--options @FILE`, or one flag
// per key (`--key=value`, or `--key value`), over or instead of the env var. A key is the JSON
// key, with dashes or underscores (`--artifact-dir` is `artifact_dir`, as Prow's flags are named)
// and dots for nested keys (`--gcs-options.bucket`). A value is read as JSON when it is JSON
// (numbers, true, lists, objects) and as a string otherwise; a flag with no value is true.
//
// It is written here, with the standard library only, because the entrypoint may link nothing else
// and no flag library maps flags onto arbitrary JSON keys.
package flagjson

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Resolve returns the options' JSON and where it came from (for error messages), from env's
// value and then args in order.
func Resolve(args []string, env string) (raw, source string, err error) {
	raw, ok := os.LookupEnv(env)
	source = "$" + env
	var obj map[string]any
	var flags []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !strings.HasPrefix(a, "--") || name == "" {
			return "", "", fmt.Errorf("unexpected argument %q: options are flags (--key=value) or --options JSON", a)
		}
		if !hasVal {
			if i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
				val = args[i+1]
				i++
			} else {
				val = "true"
			}
		}
		if name == "options" {
			if file, isFile := strings.CutPrefix(val, "@"); isFile {
				b, err := os.ReadFile(file)
				if err != nil {
					return "", "", fmt.Errorf("--options: %w", err)
				}
				val = string(b)
			}
			raw, ok, source, obj = val, true, "--options", nil
			continue
		}
		if obj == nil {
			obj = map[string]any{}
			if ok && strings.TrimSpace(raw) != "" {
				if err := json.Unmarshal([]byte(raw), &obj); err != nil {
					return "", "", fmt.Errorf("%s: %w", source, err)
				}
			}
		}
		if err := set(obj, strings.Split(strings.ReplaceAll(name, "-", "_"), "."), value(val)); err != nil {
			return "", "", fmt.Errorf("--%s: %w", name, err)
		}
		flags = append(flags, "--"+name)
	}
	if obj != nil {
		b, err := json.Marshal(obj)
		if err != nil {
			return "", "", err
		}
		if ok {
			source += " with " + strings.Join(flags, " ")
		} else {
			source = strings.Join(flags, " ")
		}
		raw, ok = string(b), true
	}
	if !ok {
		return "", "", fmt.Errorf("$%s is not set; it carries the options as JSON (or pass --options JSON, --options @FILE, or --key=value per option)", env)
	}
	return raw, source, nil
}

func value(s string) any {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err == nil {
		return v
	}
	return s
}

func set(obj map[string]any, path []string, v any) error {
	for _, p := range path[:len(path)-1] {
		next, ok := obj[p].(map[string]any)
		if !ok {
			if obj[p] != nil {
				return fmt.Errorf("key %q is not an object", p)
			}
			next = map[string]any{}
			obj[p] = next
		}
		obj = next
	}
	obj[path[len(path)-1]] = v
	return nil
}
