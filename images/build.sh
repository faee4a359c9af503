#!/usr/bin/env bash
# `npm run images`: builds ghcr.io/etcd-ts/etcd-node:<version> and ghcr.io/etcd-ts/etcd-operator:<version>
# (<version> = package.json's) from images/Dockerfile, the names the operator writes into its pods.
#
# Base: BASE_IMAGE when set; else node:20-bookworm-slim when the engine has it (or can pull it); else the
# local one images/base.sh makes (debootstrap bookworm + this machine's Node 20), said on stderr.
# Build: in a build container (npm ci there) when that container can reach the npm registry over TLS,
# else on the host (HOST_BUILT=1: npm run build, then npm ci --omit=dev into a staged context) and
# copied in. IMAGES_HOST_BUILD=1/0 forces one or the other.
set -euo pipefail
cd "$(dirname "$0")/.."
version="$(node -p 'require("./package.json").version')"
revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain 2>/dev/null)" ]; then revision="${revision}-dirty"; fi
created="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
source_url="${IMAGE_SOURCE:-https://github.com/etcd-ts/etcd-ts}"
repo="${IMAGE_REPOSITORY_PREFIX:-ghcr.io/etcd-ts}"
say() { echo "images: $*" >&2; }

public=node:20-bookworm-slim
if [ -n "${BASE_IMAGE:-}" ]; then
  base="$BASE_IMAGE"
elif docker image inspect "$public" >/dev/null 2>&1 || timeout 60 docker pull -q "$public" >/dev/null 2>&1; then
  base="$public"
else
  say "$public is not here and cannot be pulled: using the local base (images/base.sh)"
  base="$(bash images/base.sh)"
fi
say "base image $base"

host_build="${IMAGES_HOST_BUILD:-}"
if [ -z "$host_build" ]; then
  # can a container fetch from the registry (TLS verified with the base's own CAs)?
  if docker run --rm --network bridge "$base" node -e \
      "fetch('https://registry.npmjs.org/lmdb',{method:'HEAD',signal:AbortSignal.timeout(10000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" \
      >/dev/null 2>&1; then host_build=0; else host_build=1; fi
  [ "$host_build" = 1 ] && say "a build container cannot reach the npm registry (here: a TLS-intercepting proxy only the host trusts): building on the host"
fi

common=(--build-arg "BASE_IMAGE=$base" --build-arg "VERSION=$version" --build-arg "REVISION=$revision"
        --build-arg "SOURCE=$source_url" --build-arg "CREATED=$created" -f images/Dockerfile)
if [ "$host_build" = 1 ]; then
  ctx=tmp/images/context
  # the same lock file, production dependencies only, no install scripts (lmdb's binary is prebuilt);
  # reused while package-lock.json is unchanged
  if ! cmp -s package-lock.json "$ctx/package-lock.json" 2>/dev/null || [ ! -d "$ctx/node_modules" ]; then
    rm -rf "$ctx" && mkdir -p "$ctx"
    cp package.json package-lock.json "$ctx/"
    (cd "$ctx" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error)
  fi
  cp package.json "$ctx/"
  # compile unless dist/ is newer than every source (npm test has just built it, e.g. in .ci/run)
  stamp=dist/etcd-node/src/cli/main.js
  if [ ! -f "$stamp" ] || [ ! -f dist/operator/src/cli/main.js ] || \
     [ -n "$(find etcd-node/src operator/src bin tsconfig.json tsconfig.build.json package-lock.json -newer "$stamp" -print -quit)" ]; then
    npm run build --silent
  else
    say "dist/ is up to date with the sources: not compiling again"
  fi
  rm -rf "$ctx/dist" "$ctx/bin"
  cp -r bin "$ctx/bin"
  mkdir -p "$ctx/dist" && cp -r dist/etcd-node dist/operator "$ctx/dist/"
  # no test code in the image
  find "$ctx/dist" \( -name '*.test.js' -o -name '*.test.js.map' -o -name '*.test.d.ts' \) -delete
  printf '.dockerignore\n' > "$ctx/.dockerignore"
  common+=(--build-arg HOST_BUILT=1)
else
  ctx=.
fi
for target in etcd-node etcd-operator; do
  say "building $repo/$target:$version"
  docker build -q "${common[@]}" --target "$target" -t "$repo/$target:$version" "$ctx" >/dev/null
done
docker image ls --format '{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}' | grep -E "^$repo/etcd-(node|operator):$version " >&2
