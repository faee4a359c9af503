# Sourced by test/kind/*.sh: the repository root as working folder, the tool versions, kind's path and
# the cluster's name (KIND_CLUSTER, default etcd-ts) and kubeconfig (KIND_KUBECONFIG).
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
. scripts/tools-versions.env
KIND="$PWD/.tools/kind-$KIND_VERSION/kind"
CLUSTER="${KIND_CLUSTER:-etcd-ts}"
export KIND_KUBECONFIG="${KIND_KUBECONFIG:-$PWD/tmp/kind/kubeconfig}"
