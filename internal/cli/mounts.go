package cli

import (
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// deployNamespace is the namespace deploy/ runs the components in, where their Secrets and
// ConfigMaps live.
const deployNamespace = "prow"

// mountedFile is where deploy/ puts the file a flag names: key of a Secret or ConfigMap, mounted
// as a volume (a whole ConfigMap, for a directory flag).
type mountedFile struct {
	kind string // "Secret" or "ConfigMap"
	name string
	key  string // empty: the flag names the directory the whole object is mounted as
	// from is what the key holds, in the create command's --from-file=KEY=<from>.
	from string
}

// mountedFiles are the flags of the deployed components that name a mounted file, with what
// deploy/ and docs/deploy.md mount there (deploy's TestMissingMountedFile keeps the two the same).
var mountedFiles = map[string]mountedFile{
	"config-path":                 {kind: "ConfigMap", name: "config", key: "config.yaml", from: "path/to/config.yaml"},
	"job-config-path":             {kind: "ConfigMap", name: "job-config", from: "path/to/jobs/"},
	"plugin-config":               {kind: "ConfigMap", name: "plugins", key: "plugins.yaml", from: "path/to/plugins.yaml"},
	"hmac-secret-file":            {kind: "Secret", name: "hmac-token", key: "hmac", from: "path/to/hmac"},
	"github-token-path":           {kind: "Secret", name: "github-token", key: "token", from: "path/to/token"},
	"github-app-private-key-path": {kind: "Secret", name: "github-token", key: "cert", from: "path/to/app-private-key.pem"},
	"github-oauth-config-file":    {kind: "Secret", name: "github-oauth-config", key: "secret", from: "path/to/oauth-config.yaml"},
	"cookie-secret":               {kind: "Secret", name: "cookie", key: "secret", from: "<(openssl rand -base64 32)"},
	"gcs-credentials-file":        {kind: "Secret", name: "gcs-credentials", key: "service-account.json", from: "path/to/key.json"},
	"s3-credentials-file":         {kind: "Secret", name: "s3-credentials", key: "service-account.json", from: "path/to/s3-credentials.json"},
	"build-cluster-kubeconfig":    {kind: "Secret", name: "build-clusters", key: "kubeconfig", from: "path/to/build-clusters.kubeconfig"},
}

// annotationDeployed marks a component that runs from deploy/'s manifests: its mounted files are
// checked before it starts.
const annotationDeployed = "prowl.dev/deployed"

// deployed marks cmd as a component deploy/ runs, and returns it.
func deployed(cmd *cobra.Command) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[annotationDeployed] = "true"
	return cmd
}

// CheckMountedFiles fails when a flag of cmd names a file (or a directory) that is missing or
// unreadable, saying for each which Secret or ConfigMap deploy/ mounts there and how to create it.
// A component runs it before anything else: in a cluster, a Secret that was never created (its
// volume is optional) or lacks the key makes the Pod crash-loop with a log that says why, rather
// than start half-configured.
func CheckMountedFiles(cmd *cobra.Command) error {
	var errs []error
	cmd.Flags().Visit(func(f *pflag.Flag) {
		m, ok := mountedFiles[f.Name]
		if !ok || f.Value.String() == "" {
			return
		}
		if err := readable(f.Value.String()); err != nil {
			errs = append(errs, m.explain(f.Name, err))
		}
	})
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errors.Join(errs...)
}

// readable opens path (reads it, for a directory) and closes it again.
func readable(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	if info.IsDir() {
		_, err = os.ReadDir(path)
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return f.Close()
}

// explain is the error for flag's missing file: what deploy/ mounts there and the command that
// makes it.
func (m mountedFile) explain(flag string, err error) error {
	what := fmt.Sprintf("key %s of %s %s", m.key, m.kind, m.name)
	var create string
	switch {
	case m.kind == "ConfigMap" && m.key == "":
		what = fmt.Sprintf("%s %s", m.kind, m.name)
		create = fmt.Sprintf("kubectl -n %s create configmap %s --from-file=%s", deployNamespace, m.name, m.from)
	case m.kind == "ConfigMap":
		create = fmt.Sprintf("kubectl -n %s create configmap %s --from-file=%s=%s", deployNamespace, m.name, m.key, m.from)
	default:
		create = fmt.Sprintf("kubectl -n %s create secret generic %s --from-file=%s=%s", deployNamespace, m.name, m.key, m.from)
	}
	if m.kind == "ConfigMap" {
		create += " (kubectl apply -k deploy/overlays/... makes it from deploy/base/config/)"
	}
	return fmt.Errorf("--%s: %w: deploy/ mounts %s (namespace %s) there; create it with: %s, then restart the Pod", flag, err, what, deployNamespace, create)
}
