#!/usr/bin/env bash
# Cross-builds udpchat's three programs for each TARGET (GOOS/GOARCH), with
# the version stamped, into OUT/VERSION/GOOS-GOARCH/:
#
#   scripts/release.sh [--version V] [--out DIR] TARGET...
#   scripts/release.sh --out dist linux/amd64 linux/arm64 darwin/arm64
#
# VERSION is --version, or what `git describe` says of the checkout. The
# binaries are static (CGO_ENABLED=0), reproducible (-trimpath, -buildvcs
# so --version names the commit), and stripped. A release is this run on a
# tagged, clean checkout; CI runs it for two targets.
set -euo pipefail
cd "$(dirname "$0")/.."

version=""
out="dist"
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "release.sh: unknown flag $1 (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
if [ $# -eq 0 ]; then
  echo "release.sh: name at least one target, such as linux/amd64 (see --help)" >&2
  exit 2
fi
if [ -z "$version" ]; then
  version=$(git describe --tags --always --dirty 2>/dev/null || echo unknown)
fi

programs=(udpchat udpchat-server udpchat-bench)
for target in "$@"; do
  goos=${target%/*}
  goarch=${target#*/}
  if [ -z "$goos" ] || [ -z "$goarch" ] || [ "$goos" = "$target" ]; then
    echo "release.sh: target $target is not GOOS/GOARCH" >&2
    exit 2
  fi
  dir="$out/$version/$goos-$goarch"
  mkdir -p "$dir"
  for p in "${programs[@]}"; do
    exe=$p
    [ "$goos" = windows ] && exe=$p.exe
    CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath -buildvcs=true \
      -ldflags "-s -w -X github.com/udpchat/udpchat/internal/version.Version=$version" \
      -o "$dir/$exe" "./cmd/$p"
  done
  echo "$dir: ${programs[*]}"
done
