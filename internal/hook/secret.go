package hook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/prowl-ci/prowl/internal/reloadfile"
)

// Secrets are the webhook HMAC secrets, from --hmac-secret-file: either one token, or Prow's
// form {"*" | org | "org/repo": [{value, created_at}]}, where the most specific level that is
// present applies and any of its tokens matches (so a secret can be rotated by adding the new one
// before removing the old).
type Secrets struct {
	file *reloadfile.File[map[string][]string]
}

type secretEntry struct {
	Value     string    `json:"value"`
	CreatedAt time.Time `json:"created_at"`
}

// LoadSecrets reads the file; it is read again whenever it changes.
func LoadSecrets(path string) (*Secrets, error) {
	f, err := reloadfile.Load("--hmac-secret-file", path, ParseSecrets)
	if err != nil {
		return nil, err
	}
	return &Secrets{file: f}, nil
}

// ParseSecrets reads the file's content.
func ParseSecrets(raw []byte) (map[string][]string, error) {
	text := strings.TrimSpace(string(raw))
	if text == "" {
		return nil, fmt.Errorf("the HMAC secret file is empty")
	}
	var scoped map[string][]secretEntry
	if err := yaml.Unmarshal([]byte(text), &scoped); err == nil && len(scoped) > 0 {
		out := map[string][]string{}
		for scope, entries := range scoped {
			for i, e := range entries {
				if e.Value == "" {
					return nil, fmt.Errorf("%q[%d]: value is empty", scope, i)
				}
				out[scope] = append(out[scope], e.Value)
			}
		}
		return out, nil
	}
	return map[string][]string{"*": {text}}, nil
}

// Valid says whether signature (X-Hub-Signature-256: sha256=<hex>) signs body with a secret of
// the most specific scope of orgRepo ("org/repo", "org", then "*").
func (s *Secrets) Valid(orgRepo, signature string, body []byte) bool {
	byScope, err := s.file.Get()
	if err != nil {
		return false // the secret file is gone: refuse rather than trust an old secret
	}
	sig, ok := strings.CutPrefix(signature, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	org, _, _ := strings.Cut(orgRepo, "/")
	for _, scope := range []string{orgRepo, org, "*"} {
		tokens, ok := byScope[scope]
		if !ok || scope == "" {
			continue
		}
		for _, token := range tokens {
			if hmac.Equal(got, Sign([]byte(token), body)) {
				return true
			}
		}
		return false // the most specific scope present decides
	}
	return false
}

// Sign is the HMAC-SHA256 of body, as GitHub computes X-Hub-Signature-256.
func Sign(secret, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return m.Sum(nil)
}

// Signature is the X-Hub-Signature-256 header for body.
func Signature(secret, body []byte) string { return "sha256=" + hex.EncodeToString(Sign(secret, body)) }
