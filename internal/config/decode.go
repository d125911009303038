package config

import (
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// decodeYAML decodes a YAML document into v the way Prow does (sigs.k8s.io/yaml, which converts
// scalars to the type of the field they land in) and returns the paths of keys that v's type lacks,
// with the document as generic JSON when it had any. The fast path is one strict decode; only a
// document with unknown keys pays for the generic pass that lists them all (encoding/json reports
// only the first).
func decodeYAML(raw []byte, v any) (unknown []string, generic map[string]any, err error) {
	err = yaml.Unmarshal(raw, v, func(d *json.Decoder) *json.Decoder {
		d.DisallowUnknownFields()
		return d
	})
	if err == nil || !strings.Contains(err.Error(), "json: unknown field") {
		return nil, nil, err
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		return nil, nil, err
	}
	if err := yaml.Unmarshal(raw, &generic); err != nil {
		return nil, nil, err
	}
	findUnknown(generic, reflect.TypeOf(v), "", &unknown)
	sort.Strings(unknown)
	return unknown, generic, nil
}

var jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()

// findUnknown walks a generic JSON value beside the Go type it was decoded into and records the
// keys the type lacks. Keys match field names case-insensitively, as encoding/json does.
func findUnknown(v any, t reflect.Type, path string, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) || t.Implements(jsonUnmarshaler) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return
		}
		fields := jsonFields(t)
		for k, val := range obj {
			ft, ok := fields[strings.ToLower(k)]
			if !ok {
				*out = append(*out, join(path, k))
				continue
			}
			findUnknown(val, ft, join(path, k), out)
		}
	case reflect.Map:
		if obj, ok := v.(map[string]any); ok {
			for k, val := range obj {
				findUnknown(val, t.Elem(), join(path, k), out)
			}
		}
	case reflect.Slice, reflect.Array:
		if arr, ok := v.([]any); ok {
			for i, val := range arr {
				findUnknown(val, t.Elem(), path+"["+strconv.Itoa(i)+"]", out)
			}
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// jsonFields maps the lower-cased JSON names of a struct's fields, inline and embedded ones
// included, to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" && opts == "" {
			continue
		}
		if (f.Anonymous && name == "") || strings.Contains(opts, "inline") {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					fields[k] = v
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[strings.ToLower(name)] = f.Type
	}
	return fields
}
