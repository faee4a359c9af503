#!/usr/bin/env bash
# `npm run test:kind`: builds what is missing (test/kind/build-images.sh), creates the kind cluster
# (test/kind/up.sh), loads the images, runs the kind suites, and deletes the cluster (unless
# ETCD_TS_KIND_KEEP=1). Hooks for the product's suites (others are writing them):
#   ETCD_TS_KIND_IMAGES  docker tags to `kind load docker-image` besides the smoke image (e.g. the
#                        etcd-node/operator images of `npm run images`)
#   ETCD_TS_KIND_SETUP   a command run once the cluster is up, with KUBECONFIG set (e.g. helm install)
#   ETCD_TS_KIND_TESTS   more test files to run after test/kind/*.test.ts (e.g. test/e2e/*.test.ts)
set -euo pipefail
. "$(dirname "$0")/env.sh"
T0=$SECONDS
bash test/kind/up.sh
cleanup() {
  if [ "${ETCD_TS_KIND_KEEP:-}" != 1 ]; then "$KIND" delete cluster --name "$CLUSTER"; fi
}
trap cleanup EXIT

# the smoke image: a locally built image (small bookworm + etcd) that the node does not have yet
SMOKE_IMAGE="etcd-ts-kind/smoke:${KIND_ETCD_VERSION}"
if ! docker image inspect "$SMOKE_IMAGE" >/dev/null 2>&1; then
  ctx="$(mktemp -d)"; cp ".tools/kind-$KIND_VERSION/etcd" "$ctx/etcd"
  printf 'FROM etcd-ts-kind/small:bookworm\nCOPY etcd /usr/local/bin/etcd\n' > "$ctx/Dockerfile"
  docker build -q -t "$SMOKE_IMAGE" "$ctx" >/dev/null; rm -rf "$ctx"
fi
s=$SECONDS
# shellcheck disable=SC2086
"$KIND" load docker-image --name "$CLUSTER" "$SMOKE_IMAGE" ${ETCD_TS_KIND_IMAGES:-}
echo "test:kind: images loaded in $((SECONDS - s)) s"

export KUBECONFIG="$KIND_KUBECONFIG" ETCD_TS_KIND_SMOKE_IMAGE="$SMOKE_IMAGE"
export ETCD_TS_KUBECTL="$PWD/.tools/k8s-node-$K8S_VERSION/kubectl"
if [ -n "${ETCD_TS_KIND_SETUP:-}" ]; then bash -c "$ETCD_TS_KIND_SETUP"; fi
s=$SECONDS
# shellcheck disable=SC2086
node --import tsx --test --test-reporter=spec --test-concurrency=1 test/kind/*.test.ts ${ETCD_TS_KIND_TESTS:-}
echo "test:kind: tests passed in $((SECONDS - s)) s; everything in $((SECONDS - T0)) s"
