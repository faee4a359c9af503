#!/usr/bin/env bash
# Builds the outside tools the e2e, compatibility and benchmark suites use, from the Go module proxy with
# the ordinary Go toolchain, into .tools/ (gitignored), one folder per tool and version:
#   .tools/k8s-<v>/{kube-apiserver,kube-controller-manager,kubectl}
#   .tools/k8s-node-<v>/{kubelet,kubeadm,kube-scheduler,kube-proxy,kube-apiserver,kube-controller-manager,kubectl}
#                                    (what a kind node image needs: test/kind/)
#   .tools/kind-<v>/{kind,crictl,coredns,etcd,local-path-provisioner,containerd,ctr,containerd-shim-runc-v2}
#                                    (kind itself and the programs of the images a kind node expects)
#   .tools/etcd-<v>/{etcd,etcdctl,etcdutl}
#   .tools/benchmark-<v>/benchmark
#   .tools/minio-<v>/minio           (the S3-compatible server of the backup suites)
#   .tools/helm-<v>/helm             (helm lint/template of charts/etcd-operator in npm test)
#   .tools/actionlint-<v>/actionlint (checks .github/workflows/ in npm test)
# A folder with its .stamp is complete and is reused; a version bump (scripts/tools-versions.env) builds
# the new one. Usage: scripts/build-tools.sh [all|k8s|k8s-node|kind|etcd|benchmark|minio|helm|actionlint]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools-versions.env
export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"
command -v go >/dev/null || { echo "build-tools: Go is not installed (https://go.dev/dl)" >&2; exit 1; }
export GOFLAGS=-mod=mod CGO_ENABLED=0
TOOLS="$PWD/.tools"
mkdir -p "$TOOLS"
what="${1:-all}"

# A scratch module that requires $1@$2 (with extra go.mod lines in $3), for `go build` of its commands.
scratch() {
  local dir
  dir="$(mktemp -d)"
  printf 'module etcd-ts/tools\n\ngo 1.26\n\nrequire %s %s\n%s\n' "$1" "$2" "${3:-}" > "$dir/go.mod"
  echo "$dir"
}

# build_k8s [k8s|k8s-node]: the control plane the e2e needs, or every binary a kind node image needs.
build_k8s() {
  local kind="${1:-k8s}" v="$K8S_VERSION" out="$TOOLS/${1:-k8s}-$K8S_VERSION"
  local cmds="kube-apiserver kube-controller-manager kubectl"
  [ "$kind" = k8s-node ] && cmds="kubelet kubeadm kube-scheduler kube-proxy $cmds"
  [ -f "$out/.stamp" ] && { echo "build-tools: $kind $v: cached in $out"; return; }
  local start=$SECONDS minor="${v#v1.}"; minor="${minor%%.*}"
  # k8s.io/kubernetes requires its staging modules (k8s.io/api, …) at v0.0.0 and replaces them with
  # ./staging paths that do not exist in the published module: replace each by its published v0.N.P.
  local gomod
  gomod="$(go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
  local replaces=""
  for m in $(grep -E '^\s*k8s.io/[a-z0-9-]+ => ./staging' "$gomod" | awk '{print $1}'); do
    replaces+="replace $m => $m v0.${v#v1.}"$'\n'
  done
  local dir; dir="$(scratch k8s.io/kubernetes "$v" "$replaces")"
  local pkg="k8s.io/component-base/version"
  local ld="-s -w -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  mkdir -p "$out"
  (cd "$dir" && go get "k8s.io/kubernetes/cmd/kube-apiserver@$v" >/dev/null 2>&1 || true
   for cmd in $cmds; do
     echo "build-tools: building $cmd $v"
     nice go build -trimpath -ldflags "$ld" -o "$out/$cmd" "k8s.io/kubernetes/cmd/$cmd"
   done)
  rm -rf "$dir"
  touch "$out/.stamp"
  echo "build-tools: $kind $v ($cmds) built in $((SECONDS - start)) s"
}

build_etcd() {
  for v in $ETCD_VERSIONS; do
    local out="$TOOLS/etcd-$v"
    [ -f "$out/.stamp" ] && { echo "build-tools: etcd $v: cached in $out"; continue; }
    local start=$SECONDS
    local dir; dir="$(scratch go.etcd.io/etcd/server/v3 "$v" "require go.etcd.io/etcd/etcdctl/v3 $v
require go.etcd.io/etcd/etcdutl/v3 $v")"
    mkdir -p "$out"
    (cd "$dir" && echo "build-tools: building etcd $v" &&
      nice go build -trimpath -o "$out/etcd" go.etcd.io/etcd/server/v3 &&
      nice go build -trimpath -o "$out/etcdctl" go.etcd.io/etcd/etcdctl/v3 &&
      nice go build -trimpath -o "$out/etcdutl" go.etcd.io/etcd/etcdutl/v3)
    rm -rf "$dir"
    touch "$out/.stamp"
    echo "build-tools: etcd $v built in $((SECONDS - start)) s"
  done
}

build_benchmark() {
  local v="$BENCHMARK_VERSION" out="$TOOLS/benchmark-$BENCHMARK_VERSION"
  [ -f "$out/.stamp" ] && { echo "build-tools: etcd benchmark $v: cached in $out"; return; }
  local start=$SECONDS
  local dir; dir="$(scratch go.etcd.io/etcd/v3 "$v")"
  mkdir -p "$out"
  (cd "$dir" && echo "build-tools: building etcd's benchmark $v" && nice go build -trimpath -o "$out/benchmark" go.etcd.io/etcd/v3/tools/benchmark)
  rm -rf "$dir"
  touch "$out/.stamp"
  echo "build-tools: etcd benchmark $v built in $((SECONDS - start)) s"
}

# MinIO publishes no semantic versions: the module proxy serves it at a pseudo-version (MINIO_VERSION).
build_minio() {
  local v="$MINIO_VERSION" out="$TOOLS/minio-$MINIO_VERSION"
  [ -f "$out/.stamp" ] && { echo "build-tools: minio $v: cached in $out"; return; }
  local start=$SECONDS
  mkdir -p "$out"
  echo "build-tools: building minio $v"
  GOBIN="$out" nice go install -trimpath "github.com/minio/minio@$v"
  touch "$out/.stamp"
  echo "build-tools: minio $v built in $((SECONDS - start)) s"
}

# kind and what its node needs that no registry can give here: crictl for the base image, and the
# programs of the images kubeadm and kind expect inside the node (CoreDNS and etcd at the versions
# kubeadm $K8S_VERSION names, rancher's local-path-provisioner), and containerd 2 (Debian bookworm's
# containerd is 1.6: its ctr has no `ctr info`, which kind build node-image runs, and kubelets from
# 1.38 drop containerd 1.x). Versions: scripts/tools-versions.env.
build_kind() {
  local out="$TOOLS/kind-$KIND_VERSION"
  [ -f "$out/.stamp" ] && { echo "build-tools: kind $KIND_VERSION and node programs: cached in $out"; return; }
  local start=$SECONDS
  mkdir -p "$out"
  local m
  for m in "sigs.k8s.io/kind@$KIND_VERSION" "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION" \
           "github.com/coredns/coredns@$COREDNS_VERSION" \
           "github.com/rancher/local-path-provisioner@$LOCAL_PATH_PROVISIONER_VERSION"; do
    echo "build-tools: building $m"
    GOBIN="$out" nice go install -trimpath -ldflags "-s -w" "$m"
  done
  local dir; dir="$(scratch go.etcd.io/etcd/server/v3 "$KIND_ETCD_VERSION")"
  (cd "$dir" && echo "build-tools: building etcd $KIND_ETCD_VERSION" &&
    nice go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3)
  rm -rf "$dir"
  build_containerd "$out"
  touch "$out/.stamp"
  echo "build-tools: kind $KIND_VERSION and node programs built in $((SECONDS - start)) s"
}

build_containerd() {
  local out="$1" c
  [ -x "$out/containerd-shim-runc-v2" ] && return
  local dir; dir="$(scratch github.com/containerd/containerd/v2 "$CONTAINERD_VERSION")"
  for c in containerd ctr containerd-shim-runc-v2; do
    echo "build-tools: building $c $CONTAINERD_VERSION"
    (cd "$dir" && nice go build -trimpath -tags no_btrfs,no_devmapper,no_zfs \
      -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION" \
      -o "$out/$c" "github.com/containerd/containerd/v2/cmd/$c")
  done
  rm -rf "$dir"
}

# A single command installed from its module path at a version: $1 tool name, $2 version, $3 package.
build_go_install() {
  local name="$1" v="$2" pkg="$3" out="$TOOLS/$1-$2"
  [ -f "$out/.stamp" ] && { echo "build-tools: $name $v: cached in $out"; return; }
  local start=$SECONDS
  mkdir -p "$out"
  echo "build-tools: building $name $v"
  GOBIN="$out" nice go install -trimpath -ldflags "-s -w" "$pkg@$v"
  touch "$out/.stamp"
  echo "build-tools: $name $v built in $((SECONDS - start)) s"
}
build_helm() { build_go_install helm "$HELM_VERSION" helm.sh/helm/v4/cmd/helm; }
build_actionlint() { build_go_install actionlint "$ACTIONLINT_VERSION" github.com/rhysd/actionlint/cmd/actionlint; }

case "$what" in
  all) build_k8s; build_etcd; build_benchmark; build_minio; build_helm; build_actionlint ;;
  helm) build_helm ;;
  actionlint) build_actionlint ;;
  minio) build_minio ;;
  k8s) build_k8s ;;
  k8s-node) build_k8s k8s-node ;;
  kind) build_kind ;;
  etcd) build_etcd ;;
  benchmark) build_benchmark ;;
  *) echo "usage: $0 [all|k8s|k8s-node|kind|etcd|benchmark|minio|helm|actionlint]" >&2; exit 2 ;;
esac
