#!/usr/bin/env bash
# Builds a real kube-apiserver, etcd and kubectl from their Go modules (pinned in
# internal/cpbuild/module, kept out of Prowl's go.mod) into the cache, once, and prints the
# directory that holds them (last line). Tests (envtest) and `prowl up` run these binaries; `prowl
# up` builds them itself when they are missing. Nothing is downloaded but Go modules.
# Env: PROWL_CACHE  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/prowl)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
exec go run ./hack/controlplane
