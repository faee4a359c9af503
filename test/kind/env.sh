# Sourced by test/kind/*.sh: the repository root as working folder, the tool versions, kind's path and
# the cluster's name (KIND_CLUSTER, default etcd-ts) and kubeconfig (KIND_KUBECONFIG).
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
. scripts/tools-versions.env
KIND="$PWD/.tools/kind-$KIND_VERSION/kind"
CLUSTER="${KIND_CLUSTER:-etcd-ts}"
export KIND_KUBECONFIG="${KIND_KUBECONFIG:-$PWD/tmp/kind/kubeconfig}"
# kind starts its nodes with `docker run --privileged` and loads images with `docker exec --privileged`;
# where the engine cannot grant that (this machine: no CAP_SYS_RESOURCE in its bounding set),
# test/kind/docker-shim/docker stands in for docker on kind's PATH.
kind_docker_shim() {
  case ":$PATH:" in *":$PWD/test/kind/docker-shim:"*) return ;; esac
  if ! docker run --rm --privileged etcd-ts-kind/small:bookworm true >/dev/null 2>&1; then
    echo "kind: this Docker cannot start --privileged containers; kind runs through test/kind/docker-shim"
    export PATH="$PWD/test/kind/docker-shim:$PATH"
  fi
}
