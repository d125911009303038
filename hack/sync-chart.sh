#!/usr/bin/env bash
# sync-chart.sh copies into the Helm chart (deploy/helm/prowl) what it shares with deploy/base:
# the generated CRD, admission policy and Roles, and the config files (`make generate` runs it;
# deploy's TestChartCopiesAreFresh fails when they differ).
set -euo pipefail
cd "$(dirname "$0")/.."
chart=deploy/helm/prowl
cp config/crd/prow.k8s.io_prowjobs.yaml "$chart/crds/"
cp config/crd/prowjob-build-cluster-policy.yaml "$chart/templates/"
cat config/rbac/{plank,horologium,hook,crier,deck,sinker}/role.yaml > "$chart/templates/roles.yaml"
cp deploy/base/config/config.yaml deploy/base/config/plugins.yaml "$chart/files/"
rm -f "$chart"/files/jobs/*.yaml
cp deploy/base/config/jobs/*.yaml "$chart/files/jobs/"
# The Deployments, Services, ServiceAccounts and RoleBindings are deploy/base's, with the image
# taken from the chart's values.
for f in namespaces serviceaccounts rolebindings plank horologium hook crier deck sinker; do
  sed 's#image: ghcr.io/prowl-ci/prowl$#image: {{ include "prowl.image" . | quote }}#' "deploy/base/$f.yaml" > "$chart/templates/$f.yaml"
done
