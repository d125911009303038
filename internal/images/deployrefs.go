package images

import (
	"bytes"
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"
)

// Refs are the pushed images by name (prowl, entrypoint, ...), each REGISTRY/NAME:TAG@DIGEST.
type Refs map[string]string

// RefsOf collects the pushed references of results.
func RefsOf(results []Result) Refs {
	refs := Refs{}
	for _, r := range results {
		if r.Ref != "" {
			refs[r.Spec.Name] = r.Ref
		}
	}
	return refs
}

// utilityKeys maps the decoration config's utility_images keys to the images.
var utilityKeys = map[string]string{"clonerefs": "clonerefs", "initupload": "initupload", "entrypoint": "entrypoint", "sidecar": "sidecar"}

// UpdateDeployConfig points every plank.default_decoration_config_entries[].config.utility_images
// entry of the Prow config file at path at the pushed images, keeping the file's comments and
// order. It returns how many references it changed.
func UpdateDeployConfig(path string, refs Refs) (int, error) {
	return editYAML(path, func(doc *yaml.Node) (int, error) {
		entries := lookup(doc, "plank", "default_decoration_config_entries")
		if entries == nil || entries.Kind != yaml.SequenceNode {
			return 0, fmt.Errorf("%s: no plank.default_decoration_config_entries: add one with config.utility_images", path)
		}
		n := 0
		for _, e := range entries.Content {
			ui := lookup(e, "config", "utility_images")
			if ui == nil {
				continue
			}
			for i := 0; i+1 < len(ui.Content); i += 2 {
				if ref, ok := refs[utilityKeys[ui.Content[i].Value]]; ok && ui.Content[i+1].Value != ref {
					ui.Content[i+1].Value = ref
					n++
				}
			}
		}
		return n, nil
	})
}

// UpdateKustomization sets the kustomization file at path's `images` entry for the prowl image
// (name oldName) to the pushed prowl image, by tag and digest.
func UpdateKustomization(path, oldName string, refs Refs) (int, error) {
	ref, ok := refs["prowl"]
	if !ok {
		return 0, nil
	}
	repo, tag, digest, err := splitRef(ref)
	if err != nil {
		return 0, err
	}
	return editYAML(path, func(doc *yaml.Node) (int, error) {
		imgs := lookup(doc, "images")
		if imgs == nil || imgs.Kind != yaml.SequenceNode {
			return 0, fmt.Errorf("%s: no images list: add `images: [{name: %s}]`", path, oldName)
		}
		for _, e := range imgs.Content {
			if n := lookup(e, "name"); n != nil && n.Value == oldName {
				setKey(e, "newName", repo)
				setKey(e, "newTag", tag)
				setKey(e, "digest", digest)
				return 1, nil
			}
		}
		return 0, fmt.Errorf("%s: no images entry named %s", path, oldName)
	})
}

func editYAML(path string, edit func(*yaml.Node) (int, error)) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	n, err := edit(&doc)
	if err != nil || n == 0 {
		return n, err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return 0, err
	}
	return n, os.WriteFile(path, buf.Bytes(), 0o644)
}

// lookup follows mapping keys from node (a document or a mapping); nil when one is missing.
func lookup(node *yaml.Node, keys ...string) *yaml.Node {
	if node.Kind == yaml.DocumentNode && len(node.Content) == 1 {
		node = node.Content[0]
	}
	for _, k := range keys {
		if node.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(node.Content); i += 2 {
			if node.Content[i].Value == k {
				next = node.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		node = next
	}
	return node
}

func setKey(m *yaml.Node, key, value string) {
	if v := lookup(m, key); v != nil {
		v.Value, v.Tag, v.Style = value, "!!str", 0
		return
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, &yaml.Node{Kind: yaml.ScalarNode, Value: value})
}

// splitRef splits REPO:TAG@DIGEST.
func splitRef(ref string) (repo, tag, digest string, err error) {
	at := bytes.LastIndexByte([]byte(ref), '@')
	if at < 0 {
		return "", "", "", fmt.Errorf("reference %q has no digest", ref)
	}
	digest, rest := ref[at+1:], ref[:at]
	colon := bytes.LastIndexByte([]byte(rest), ':')
	slash := bytes.LastIndexByte([]byte(rest), '/')
	if colon < 0 || colon < slash {
		return "", "", "", fmt.Errorf("reference %q has no tag", ref)
	}
	return rest[:colon], rest[colon+1:], digest, nil
}

// HelmValues is a values file for deploy/helm/prowl that runs the pushed prowl image:
// `helm install prowl deploy/helm/prowl -f build/images/values.yaml`. (The pod utilities' images
// are in the chart's files/config.yaml, which UpdateDeployConfig rewrites.)
func HelmValues(refs Refs) ([]byte, error) {
	ref, ok := refs["prowl"]
	if !ok {
		return nil, fmt.Errorf("the prowl image was not pushed")
	}
	repo, tag, digest, err := splitRef(ref)
	if err != nil {
		return nil, err
	}
	return yaml.Marshal(map[string]any{"image": map[string]string{"repository": repo, "tag": tag, "digest": digest}})
}
