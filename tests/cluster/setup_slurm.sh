#!/usr/bin/env bash
# Install a single-node SLURM (Debian's slurm-wlm) and munge for tests/cluster, when missing.
# Idempotent: does nothing when slurmctld, slurmd, sbatch and munged are already on PATH.
# Starts no daemons: the pytest session fixture (tests/cluster/conftest.py) runs private instances
# (own munge key and socket, own slurm.conf, ports and state directories in a temporary directory).
set -euo pipefail

have_all() {
    for exe in slurmctld slurmd sbatch srun scontrol sinfo munged; do
        PATH="$PATH:/usr/sbin:/sbin" command -v "$exe" >/dev/null 2>&1 || return 1
    done
}

if have_all; then
    echo "setup_slurm: slurm-wlm and munge already installed"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "setup_slurm: SLURM is not installed and installing it needs root (apt-get install slurm-wlm munge)" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup_slurm: SLURM is not installed and there is no apt-get here" >&2
    exit 1
fi

# Keep the packages' maintainer scripts from starting the system munge/slurm services: the tests run
# their own. A policy-rc.d is added only if none exists, and removed again.
POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$POLICY"
    chmod 755 "$POLICY"
    trap 'rm -f "$POLICY"' EXIT
fi

export DEBIAN_FRONTEND=noninteractive
start=$(date +%s)
apt-get update -q
apt-get install -y -q --no-install-recommends slurm-wlm munge
echo "setup_slurm: installed slurm-wlm and munge in $(($(date +%s) - start)) s"
have_all
