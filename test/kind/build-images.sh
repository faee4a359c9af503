#!/usr/bin/env bash
# Builds, from what this machine reaches (Debian's mirror and the Go module proxy; no container
# registry), everything `kind create cluster` needs:
#   1. etcd-ts-kind/rootfs:bookworm  a debootstrap of Debian bookworm with systemd, containerd, runc and
#                                    the CNI plugins, `docker import`ed
#      etcd-ts-kind/small:bookworm   a minimal debootstrap (sh, coreutils, iptables) for the images
#                                    below that need a shell or iptables
#   2. etcd-ts-kind/base:<hash>      the kind base image: rootfs + crictl + test/kind/base/* (our entrypoint
#                                    and configs)
#   3. the images kubeadm and kind expect inside the node, built from source and tagged with the names
#      they look for (kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy, etcd, coredns,
#      pause, local-path-provisioner and its helper; see test/kind/README.md for the kindnetd slot)
#   4. $KIND_NODE_IMAGE (etcd-ts-kind/node:<k8s version>) by `kind build node-image --type file` over
#      a release-shaped tarball of the binaries built by scripts/build-tools.sh.
# Each image is reused when its tag exists (delete it to rebuild). Figures go to stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/tools-versions.env
ROOT="$PWD"
T0=$SECONDS
step() { echo "kind-images: $*"; }
has_image() { docker image inspect "$1" >/dev/null 2>&1; }

bash scripts/build-tools.sh k8s-node
bash scripts/build-tools.sh kind
K8S="$ROOT/.tools/k8s-node-$K8S_VERSION"
KT="$ROOT/.tools/kind-$KIND_VERSION"
KIND_NODE_IMAGE="${KIND_NODE_IMAGE:-etcd-ts-kind/node:$K8S_VERSION}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
WORK="$(mktemp -d /tmp/etcd-ts-kind-build.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

# 1. root file systems
rootfs() { # tag packages
  local tag="$1" pkgs="$2"
  has_image "$tag" && { step "$tag: exists"; return; }
  local s=$SECONDS dir="$WORK/rootfs-${tag##*/}"
  step "debootstrap for $tag"
  debootstrap --variant=minbase --include="$pkgs" bookworm "$dir" "$MIRROR" > "$WORK/debootstrap.log" 2>&1 ||
    { tail -n 30 "$WORK/debootstrap.log" >&2; exit 1; }
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -c . | docker import -c 'CMD ["/bin/sh"]' - "$tag" >/dev/null
  rm -rf "$dir"
  step "$tag made in $((SECONDS - s)) s"
}
rootfs etcd-ts-kind/rootfs:bookworm systemd,systemd-sysv,dbus,containerd,runc,containernetworking-plugins,iptables,nftables,iproute2,ethtool,socat,util-linux,mount,conntrack,ebtables,kmod,ca-certificates,procps,libseccomp2,pigz,jq,curl,e2fsprogs,lockfile-progs
rootfs etcd-ts-kind/small:bookworm iptables,nftables,conntrack,ca-certificates

# 2. the base image (tag from the content of test/kind/base and crictl, so a change rebuilds it)
BASE_HASH="$( (cat test/kind/base/*; cat "$KT/crictl" "$KT/containerd" "$KT/ctr") | sha256sum | cut -c1-12)"
BASE_IMAGE="etcd-ts-kind/base:$BASE_HASH"
if has_image "$BASE_IMAGE"; then step "$BASE_IMAGE: exists"; else
  s=$SECONDS
  cp -r test/kind/base "$WORK/base"
  cp "$KT/crictl" "$KT/containerd" "$KT/ctr" "$KT/containerd-shim-runc-v2" "$WORK/base/"
  docker build -q -t "$BASE_IMAGE" "$WORK/base" >/dev/null
  step "$BASE_IMAGE built in $((SECONDS - s)) s"
fi

# 3. the images inside the node. A static binary over scratch where the program needs nothing else.
image() { # tag from binary-path dest [entrypoint]
  local tag="$1" from="$2" bin="$3" dest="$4" entry="${5:-}"
  has_image "$tag" && { step "$tag: exists"; return; }
  local ctx="$WORK/ctx-$RANDOM"; mkdir -p "$ctx"; cp "$bin" "$ctx/prog"
  {
    echo "FROM $from"
    echo "COPY prog $dest"
    echo "ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
    echo "LABEL org.opencontainers.image.description=\"built locally by etcd-ts test/kind/build-images.sh\""
    [ -n "$entry" ] && echo "ENTRYPOINT [\"$entry\"]"
    true
  } > "$ctx/Dockerfile"
  docker build -q -t "$tag" "$ctx" >/dev/null
  rm -rf "$ctx"
  step "$tag built"
}
# pause: Kubernetes's own pause.c (in the k8s.io/kubernetes module), compiled static as its Makefile does
PAUSE_TAG="registry.k8s.io/pause:3.10.2"
GOMODCACHE="$(PATH="$PATH:/usr/local/go/bin" go env GOMODCACHE)"
gcc -Os -Wall -Werror -static -DVERSION=v3.10.2-etcd-ts -o "$WORK/pause" \
  "$GOMODCACHE/k8s.io/kubernetes@$K8S_VERSION/build/pause/linux/pause.c"
image "$PAUSE_TAG" scratch "$WORK/pause" /pause /pause
image "registry.k8s.io/kube-apiserver:$K8S_VERSION" scratch "$K8S/kube-apiserver" /usr/local/bin/kube-apiserver
image "registry.k8s.io/kube-controller-manager:$K8S_VERSION" scratch "$K8S/kube-controller-manager" /usr/local/bin/kube-controller-manager
image "registry.k8s.io/kube-scheduler:$K8S_VERSION" scratch "$K8S/kube-scheduler" /usr/local/bin/kube-scheduler
image "registry.k8s.io/kube-proxy:$K8S_VERSION" etcd-ts-kind/small:bookworm "$K8S/kube-proxy" /usr/local/bin/kube-proxy
image "registry.k8s.io/etcd:${KIND_ETCD_VERSION#v}-0" scratch "$KT/etcd" /usr/local/bin/etcd
image "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" scratch "$KT/coredns" /coredns /coredns
# kind's storage manifest names its own builds of rancher's local-path-provisioner and a helper with sh
GOPATHBIN="$KT/local-path-provisioner"
KIND_SRC="$GOMODCACHE/sigs.k8s.io/kind@$KIND_VERSION/pkg/build/nodeimage"
LPP_TAG="$(sed -n 's/^const storageProvisionerImage = "\(.*\)"/\1/p' "$KIND_SRC/const_storage.go")"
LPH_TAG="$(sed -n 's/^const storageHelperImage = "\(.*\)"/\1/p' "$KIND_SRC/const_storage.go")"
KINDNETD_TAG="$(sed -n 's/^const kindnetdImage = "\(.*\)"/\1/p' "$KIND_SRC/const_cni.go")"
image "$LPP_TAG" scratch "$GOPATHBIN" /usr/local/bin/local-path-provisioner
if ! has_image "$LPH_TAG"; then docker tag etcd-ts-kind/small:bookworm "$LPH_TAG"; step "$LPH_TAG tagged (small bookworm)"; fi
# kindnetd is not served by the module proxy: the clusters run Debian's bridge CNI plugin instead
# (test/kind/base/10-bridge.conflist, kind config networking.disableDefaultCNI). `kind build node-image`
# still insists on loading kind's kindnetd image name, so that name holds a placeholder that is never
# run: the pause binary, labelled as such.
if ! has_image "$KINDNETD_TAG"; then
  printf 'FROM %s\nLABEL etcd-ts.placeholder="not kindnetd: kind build node-image requires this name; the cluster uses the bridge CNI plugin"\n' "$PAUSE_TAG" |
    docker build -q -t "$KINDNETD_TAG" - >/dev/null
  step "$KINDNETD_TAG: placeholder"
fi

# 4. the node image (kind's build runs `docker exec --privileged`: see test/kind/docker-shim/docker)
if ! docker run --rm --privileged etcd-ts-kind/small:bookworm true >/dev/null 2>&1; then
  export PATH="$ROOT/test/kind/docker-shim:$PATH"
fi
if has_image "$KIND_NODE_IMAGE" && [ "$(docker image inspect -f '{{index .Config.Labels "etcd-ts.base"}}' "$KIND_NODE_IMAGE")" = "$BASE_IMAGE" ]; then
  step "$KIND_NODE_IMAGE: exists"
else
  s=$SECONDS
  # A release-shaped tarball (kubernetes/version, kubernetes/server/bin/{binaries,*.tar}) for
  # `kind build node-image --type file`. kind loads the image archives it finds there and fetches the
  # other images kubeadm lists; nothing can be fetched here, so the four kube-*.tar archives carry, beside
  # their own image, the others (kind reads an archive's tags from its "repositories" entry, which must
  # come first).
  rel="$WORK/release/kubernetes"; mkdir -p "$rel/server/bin"
  echo "$K8S_VERSION" > "$rel/version"
  cp "$K8S/kubeadm" "$K8S/kubelet" "$K8S/kubectl" "$rel/server/bin/"
  archive() { # name images...
    local name="$1"; shift
    local d="$WORK/archive-$name"; mkdir -p "$d"
    docker save "$@" | tar -C "$d" -x
    # docker save writes Docker Hub names short (kindest/x); kind looks for docker.io/kindest/x
    sed -i 's#"kindest/#"docker.io/kindest/#g' "$d/repositories" "$d/manifest.json"
    (cd "$d" && tar -cf "$rel/server/bin/$name.tar" repositories manifest.json $(ls | grep -v -x -e repositories -e manifest.json))
    rm -rf "$d"
  }
  archive kube-apiserver "registry.k8s.io/kube-apiserver:$K8S_VERSION" "registry.k8s.io/etcd:${KIND_ETCD_VERSION#v}-0" "$PAUSE_TAG"
  archive kube-controller-manager "registry.k8s.io/kube-controller-manager:$K8S_VERSION" "registry.k8s.io/coredns/coredns:$COREDNS_VERSION"
  archive kube-scheduler "registry.k8s.io/kube-scheduler:$K8S_VERSION" "$LPP_TAG" "$LPH_TAG"
  archive kube-proxy "registry.k8s.io/kube-proxy:$K8S_VERSION" "$KINDNETD_TAG"
  tar -C "$WORK/release" -czf "$WORK/kubernetes-server-linux-amd64.tar.gz" kubernetes
  rm -rf "$WORK/release"
  "$KT/kind" build node-image --type file --base-image "$BASE_IMAGE" --image "$KIND_NODE_IMAGE.tmp" \
    "$WORK/kubernetes-server-linux-amd64.tar.gz"
  printf 'FROM %s\nLABEL etcd-ts.base=%s\n' "$KIND_NODE_IMAGE.tmp" "$BASE_IMAGE" | docker build -q -t "$KIND_NODE_IMAGE" - >/dev/null
  docker rmi "$KIND_NODE_IMAGE.tmp" >/dev/null
  step "$KIND_NODE_IMAGE built in $((SECONDS - s)) s"
fi
step "done in $((SECONDS - T0)) s"
