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
kind_docker_shim
cleanup() {
  if [ "${ETCD_TS_KIND_KEEP:-}" != 1 ]; then "$KIND" delete cluster --name "$CLUSTER"; fi
}
trap cleanup EXIT

# the tools image: a locally built image (small bookworm + etcd 3.7 and etcdctl 3.6) that the node does
# not have yet; the smoke suite runs etcd from it, the newcomer suite etcdctl
ETCDCTL=".tools/etcd-${ETCD_VERSIONS##* }/etcdctl"
SMOKE_IMAGE="etcd-ts-kind/tools:${KIND_ETCD_VERSION}-etcdctl-${ETCD_VERSIONS##* }"
MINIO_IMAGE="etcd-ts-kind/minio:${MINIO_VERSION}"
if ! docker image inspect "$SMOKE_IMAGE" >/dev/null 2>&1; then
  ctx="$(mktemp -d)"; cp ".tools/kind-$KIND_VERSION/etcd" "$ETCDCTL" "$ctx/"
  printf 'FROM etcd-ts-kind/small:bookworm\nCOPY etcd etcdctl /usr/local/bin/\n' > "$ctx/Dockerfile"
  docker build -q -t "$SMOKE_IMAGE" "$ctx" >/dev/null; rm -rf "$ctx"
fi
# MinIO for the backup example, from the binary scripts/build-tools.sh minio built
if ! docker image inspect "$MINIO_IMAGE" >/dev/null 2>&1; then
  ctx="$(mktemp -d)"; cp ".tools/minio-$MINIO_VERSION/minio" "$ctx/"
  printf 'FROM etcd-ts-kind/small:bookworm\nCOPY minio /usr/local/bin/minio\n' > "$ctx/Dockerfile"
  docker build -q -t "$MINIO_IMAGE" "$ctx" >/dev/null; rm -rf "$ctx"
fi
# the product's images (npm run images), unless the caller names others
version="$(node -p 'require("./package.json").version')"
PRODUCT_IMAGES="${ETCD_TS_KIND_PRODUCT_IMAGES:-ghcr.io/etcd-ts/etcd-node:$version ghcr.io/etcd-ts/etcd-operator:$version}"
for i in $PRODUCT_IMAGES; do
  docker image inspect "$i" >/dev/null 2>&1 || { echo "test:kind: image $i is missing: run npm run images first" >&2; exit 1; }
done
s=$SECONDS
# shellcheck disable=SC2086
"$KIND" load docker-image --name "$CLUSTER" "$SMOKE_IMAGE" "$MINIO_IMAGE" $PRODUCT_IMAGES ${ETCD_TS_KIND_IMAGES:-}
echo "test:kind: images loaded in $((SECONDS - s)) s"

export KUBECONFIG="$KIND_KUBECONFIG" ETCD_TS_KIND_SMOKE_IMAGE="$SMOKE_IMAGE" ETCD_TS_KIND_MINIO_IMAGE="$MINIO_IMAGE"
export ETCD_TS_HELM="$PWD/.tools/helm-$HELM_VERSION/helm"
export ETCD_TS_KUBECTL="$PWD/.tools/k8s-node-$K8S_VERSION/kubectl"
if [ -n "${ETCD_TS_KIND_SETUP:-}" ]; then bash -c "$ETCD_TS_KIND_SETUP"; fi
s=$SECONDS
# shellcheck disable=SC2086
node --import tsx --test --test-reporter=spec --test-concurrency=1 test/kind/*.test.ts ${ETCD_TS_KIND_TESTS:-}
echo "test:kind: tests passed in $((SECONDS - s)) s; everything in $((SECONDS - T0)) s"
