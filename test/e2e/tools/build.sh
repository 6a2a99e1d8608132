#!/usr/bin/env bash
# test/e2e/tools/build.sh NAME: builds the Go tool test/e2e/tools/NAME once and prints the binary's path.
#
#   helm       Helm, from its module at the version test/e2e/tools/helm/go.mod pins (lint, template)
#   promtool   Prometheus's promtool, pinned the same way (check rules, test rules)
#   kubecheck  strict validation of rendered manifests against the pinned k8s.io/api types
#
# Each tool is its own Go module, so go.sum pins every module it is built from and -mod=readonly
# never lets a build change them. The binary is cached under .cache/go-tools/ with a name that
# hashes the Go version, the platform and the tool's module files and sources: a change to any
# of them builds again, anything else reuses it. Go's own module and build caches make a
# rebuild after such a change quick. A build writes to a temporary name and renames it into
# place, so a build cut short or two at once never leave a half-written binary.
set -euo pipefail
name="${1:?usage: test/e2e/tools/build.sh helm|promtool|kubecheck}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
dir="$here/$name"
[ -f "$dir/go.mod" ] || { echo "test/e2e/tools/build.sh: no tool $name" >&2; exit 2; }
command -v go >/dev/null 2>&1 || export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null 2>&1 || {
  echo "test/e2e/tools/build.sh: Go is not installed; the deployment checks build $name from the Go module proxy with it" >&2
  exit 1
}

# Pinned version of a module, as the tool's go.mod requires it.
version_of() { awk -v m="$1" '$1 == m { print $2; exit }' "$dir/go.mod"; }

case "$name" in
  helm)
    pkg=helm.sh/helm/v4/cmd/helm
    v="$(version_of helm.sh/helm/v4)"
    # What Helm's own Makefile stamps, so `helm version` tells the truth.
    flags=(-ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$v")
    ;;
  promtool)
    pkg=github.com/prometheus/prometheus/cmd/promtool
    v="$(version_of github.com/prometheus/prometheus)"
    # remove_all_sd leaves out the service-discovery plugins (cloud SDKs), which checking and
    # unit-testing rule files never use: a third of the build.
    flags=(-tags remove_all_sd -ldflags "-s -w -X github.com/prometheus/common/version.Version=$v")
    ;;
  *)
    pkg=.
    flags=(-ldflags "-s -w")
    ;;
esac

key="$( { go env GOVERSION; echo "$(go env GOOS)-$(go env GOARCH)"; cd "$dir" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) | LC_ALL=C sort | xargs sha256sum; } | sha256sum | cut -c1-16)"
out="$root/.cache/go-tools/$name-$key"
if [ ! -x "$out" ]; then
  mkdir -p "$root/.cache/go-tools"
  tmp="$out.$$.tmp"
  trap 'rm -f "$tmp"' EXIT
  started=$SECONDS
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -buildvcs=false "${flags[@]}" -o "$tmp" "$pkg") >&2
  mv "$tmp" "$out"
  echo "test/e2e/tools/build.sh: built $name in $((SECONDS - started)) s" >&2
fi
echo "$out"
