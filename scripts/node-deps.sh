#!/usr/bin/env bash
# node-deps.sh BINARY — the Debian runtime packages BINARY needs, as a Depends field
# ("libc6 (>= 2.36), libzmq5 (>= 4.3.4), …"), computed, never listed by hand: each
# shared library the binary names itself (its ELF NEEDED entries), found where the
# dynamic loader finds it (ldd), and the package that owns that file (dpkg -S), at least
# the upstream version installed here.  Used by `make node-deps` and `make node-deb`
# (mk/node.mk).  Fails, naming the library, when a library is not found or belongs to
# no package (something built locally would not be on a district host).
set -euo pipefail
bin=${1:?usage: scripts/node-deps.sh BINARY}
mapfile -t needed < <(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
[ ${#needed[@]} -gt 0 ] || { echo "node-deps: $bin names no shared library" >&2; exit 1; }
lddout=$(ldd "$bin")
# owner PATH — the package (with its architecture) that owns PATH, trying the path as
# found, its real path, and both sides of the /usr merge
owner() {
    local p c out
    for p in "$1" "$(readlink -f "$1")"; do
        for c in "$p" "${p#/usr}" "/usr$p"; do
            out=$(dpkg -S "$c" 2>/dev/null | grep -v '^diversion' | head -1) || continue
            [ -n "$out" ] && { echo "${out%%: *}"; return 0; }
        done
    done
    return 1
}
deps=()
for n in "${needed[@]}"; do
    path=$(awk -v n="$n" '$1 == n && $2 == "=>" { print $3 }' <<<"$lddout")
    [ -n "$path" ] && [ "$path" != "not" ] ||
        { echo "node-deps: $n (needed by $bin) is not found by ldd" >&2; exit 1; }
    pkg=$(owner "$path") || { echo "node-deps: no Debian package owns $path ($n)" >&2; exit 1; }
    ver=$(dpkg-query -W -f='${Version}' "$pkg")
    deps+=("${pkg%%:*} (>= ${ver%-*})")
done
printf '%s\n' "${deps[@]}" | sort -u | paste -sd, | sed 's/,/, /g'
