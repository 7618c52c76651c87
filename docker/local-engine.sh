#!/usr/bin/env bash
# Make a machine able to build and run the nlpfactory image without a registry.
#
#   local-engine.sh [engine] [base]
#
#   engine  start a Docker engine when none answers: installs Debian's docker.io when
#           dockerd is missing (needs root and apt), then runs dockerd in the background
#           (overlay2, cgroupfs; log in $DOCKERD_LOG) and waits for its socket
#   base    make sure $BASE_IMAGE exists: pull it; when the registry cannot be reached,
#           build it from Debian's archive (debootstrap --variant=minbase bookworm with
#           python3 and pip, about 200 MB) and `docker import` it under that name.
#           An image already present is kept, so CI pays for it once.
#
# Environment: BASE_IMAGE (default nlpfactory/base:bookworm, the local name; give
# python:3.11-slim to try the registry first), DEBIAN_MIRROR, DOCKERD_LOG.
# With no step given, both run.
set -euo pipefail

BASE_IMAGE="${BASE_IMAGE:-nlpfactory/base:bookworm}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DOCKERD_LOG="${DOCKERD_LOG:-/var/log/nlpfactory-dockerd.log}"

say() { printf 'local-engine: %s\n' "$*" >&2; }

engine_up() { docker info >/dev/null 2>&1; }

apt_install() {
    if [[ $(id -u) != 0 ]]; then
        say "need root to install $* (run this script with sudo, or install them yourself)"
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; }
}

start_engine() {
    if engine_up; then
        say "a Docker engine already answers"
        return
    fi
    command -v dockerd >/dev/null || { say "installing docker.io"; apt_install docker.io; }
    say "starting dockerd (log: $DOCKERD_LOG)"
    # cgroupfs: these machines have no systemd to hand cgroups to docker.
    nohup dockerd --storage-driver=overlay2 --exec-opt native.cgroupdriver=cgroupfs \
        >"$DOCKERD_LOG" 2>&1 &
    for _ in $(seq 60); do
        engine_up && { say "engine up"; return; }
        sleep 1
    done
    say "dockerd did not answer within 60 s; its log ends with:"
    tail -20 "$DOCKERD_LOG" >&2
    exit 1
}

make_base() {
    if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
        say "base image $BASE_IMAGE is present"
        return
    fi
    # nlpfactory/... names are local by convention: never in a registry, so not pulled.
    if [[ $BASE_IMAGE != nlpfactory/* ]]; then
        say "pulling $BASE_IMAGE"
        if timeout 120 docker pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
            return
        fi
        say "cannot pull $BASE_IMAGE; building it from Debian's archive instead"
    fi
    command -v debootstrap >/dev/null || { say "installing debootstrap"; apt_install debootstrap; }
    local root
    root=$(mktemp -d)
    trap 'rm -rf "$root"' RETURN
    say "debootstrap bookworm into $root (a few minutes)"
    debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,ca-certificates \
        bookworm "$root" "$DEBIAN_MIRROR" >/dev/null
    # Package lists and caches are not needed in an image.
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
    tar -C "$root" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' - "$BASE_IMAGE" >/dev/null
    say "made $BASE_IMAGE ($(docker image inspect -f '{{.Size}}' "$BASE_IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
}

steps=("$@")
((${#steps[@]})) || steps=(engine base)
for step in "${steps[@]}"; do
    case "$step" in
        engine) start_engine ;;
        base) make_base ;;
        *) say "unknown step '$step' (engine, base)"; exit 2 ;;
    esac
done
