#!/usr/bin/env bash
# Creates (or reuses) the kind cluster the kind suites run on, from the locally built node image
# (test/kind/build-images.sh, run first; what exists is reused). Writes its kubeconfig to
# $KIND_KUBECONFIG (default tmp/kind/kubeconfig). Env: KIND_CLUSTER (default etcd-ts),
# KIND_NODE_IMAGE. Delete with: .tools/kind-<v>/kind delete cluster --name etcd-ts
set -euo pipefail
. "$(dirname "$0")/env.sh"
export KIND_NODE_IMAGE="${KIND_NODE_IMAGE:-etcd-ts-kind/node:$K8S_VERSION}"
KUBECONFIG_OUT="$KIND_KUBECONFIG"
mkdir -p "$(dirname "$KUBECONFIG_OUT")"

bash test/kind/build-images.sh
kind_docker_shim
s=$SECONDS
if "$KIND" get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  echo "kind-up: cluster $CLUSTER exists"
  "$KIND" get kubeconfig --name "$CLUSTER" > "$KUBECONFIG_OUT"
else
  "$KIND" create cluster --name "$CLUSTER" --image "$KIND_NODE_IMAGE" \
    --config test/kind/kind-config.yaml --kubeconfig "$KUBECONFIG_OUT" --wait 5m
  echo "kind-up: cluster $CLUSTER created in $((SECONDS - s)) s"
fi
echo "kind-up: KUBECONFIG=$KUBECONFIG_OUT"
