#!/usr/bin/env bash
# Builds a real kube-apiserver, etcd and kubectl from their Go modules (pinned in this folder's own
# go.mod, kept out of Prowl's) into the cache, once. Tests (envtest) and `prowl up` run these
# binaries. Nothing is downloaded but Go modules through the module proxy.
#
# Usage: hack/controlplane/build.sh        prints the directory that holds the binaries (last line)
# Env:   PROWL_CACHE  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/prowl)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
version=$(cat "$here/VERSION")
cache=${PROWL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/prowl}
dest="$cache/bin/$version"

if [[ -x "$dest/kube-apiserver" && -x "$dest/etcd" && -x "$dest/kubectl" ]]; then
  echo "$dest"
  exit 0
fi

echo "Building the control plane ($version) into $dest." >&2
echo "This happens once; cold, it takes about 7 minutes on 2 cores (module downloads included)." >&2
mkdir -p "$cache/bin"
tmp=$(mktemp -d "$cache/bin/.build-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$here"
start=$SECONDS
for spec in "etcd go.etcd.io/etcd/server/v3" \
            "kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver" \
            "kubectl k8s.io/kubernetes/cmd/kubectl"; do
  set -- $spec
  echo "  building $1 ($2)..." >&2
  go build -mod=readonly -ldflags='-s -w' -o "$tmp/$1" "$2"
  echo "  built $1 after $((SECONDS - start))s" >&2
done
rm -rf "$dest"
chmod 755 "$tmp"
mv "$tmp" "$dest"
trap - EXIT
echo "Control plane ready in $dest ($((SECONDS - start))s)." >&2
echo "$dest"
