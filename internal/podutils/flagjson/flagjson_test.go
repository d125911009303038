package flagjson

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	const env = "FLAGJSON_TEST_OPTIONS"
	for _, tc := range []struct {
		name, env string
		args      []string
		want      map[string]any
		source    string
		err       string
	}{
		{name: "env only", env: `{"a":1}`, want: map[string]any{"a": 1.0}, source: "$" + env},
		{name: "flags only", args: []string{"--artifact-dir=/logs/artifacts", "--timeout", "30", "--dry-run", "--items", `["a","b"]`},
			want: map[string]any{"artifact_dir": "/logs/artifacts", "timeout": 30.0, "dry_run": true, "items": []any{"a", "b"}}, source: "--artifact-dir --timeout --dry-run --items"},
		{name: "flags over the env", env: `{"gcs_options":{"bucket":"a","sub_dir":"x"}}`, args: []string{"--gcs-options.bucket=b"},
			want: map[string]any{"gcs_options": map[string]any{"bucket": "b", "sub_dir": "x"}}, source: "$" + env + " with --gcs-options.bucket"},
		{name: "options replace the env", env: `{"a":1}`, args: []string{"--options", `{"b":2}`, "--c=x"},
			want: map[string]any{"b": 2.0, "c": "x"}, source: "--options with --c"},
		{name: "nothing", err: "$" + env + " is not set"},
		{name: "positional", args: []string{"oops"}, err: `unexpected argument "oops"`},
		{name: "not an object", env: `{"a":1}`, args: []string{"--a.b=2"}, err: `--a.b: key "a" is not an object`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv(env, tc.env)
			}
			raw, source, err := Resolve(tc.args, env)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(raw), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) || source != tc.source {
				t.Errorf("got %v from %q, want %v from %q", got, source, tc.want, tc.source)
			}
		})
	}
}
