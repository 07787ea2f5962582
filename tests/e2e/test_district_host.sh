#!/usr/bin/env bash
# test_district_host.sh — README "Deploy a district host", step by step, on a district
# host that has nothing but the package, ending with a report counted at the province.
#
# The province: the four services from the build tree (run-local), the collector on the
# province's side of a veth pair.  The district host: its own network namespace (the
# other end of the veth, no other route) and its own mount namespace, in which
#   - /etc, /var and /usr are overlays whose changes go to a tmpfs of that namespace
#     (so the package's dpkg -i, its users and its files exist only there and vanish
#     with it);
#   - /work (every worktree and its build/) and the repository are hidden under an
#     empty tmpfs, so nothing of the build or test toolchain can be used by accident.
# There, as the README says: dpkg -i the package (built by `make node-deb` from the tree
# `make install-node` stages), kh-node keygen (the secret key never leaves the host), the
# .pub handed to the province (kh-admin keys register, which still refuses a unit that
# does not report), server.pub handed back, [node] collector set, kh-node run started
# from the installed unit's ExecStart as its User=/Group=/UMask= (systemd does that on a
# real host), and a report dropped into the spool by an officer who is not root, only a
# member of kh-officers.  The province counts it: the exported values equal the sums
# computed from the file (tests/e2e/expected_totals.py).  Also: `make install-node`
# installs only the node's files, systemd-analyze verify reads the node's unit, and the
# modes: secret key 0600, keys 0700, spool 2770 for kh-officers.
#
# Needs root (ip netns, veth, mount, dpkg); everything made is named after this test's
# pid and removed on exit.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
[ "$(id -u)" = 0 ] || { echo "not ok - test_district_host needs root (ip netns, mount, dpkg -i)"; exit 1; }
B=${KH_BUILD:-build}
P=$$
D=829                                        # the district
base=$((20000 + (P % 400) * 10))             # start_test's port range
mkrun "$TOP/tests/out/run-district-host" "$base"
OUT=$RUN/district                            # outputs kept as artefacts
mkdir -p "$OUT" "$RUN/logs"
NODELOG=$RUN/logs/district-node-$D.log       # where make san's scan looks too
T=$(mktemp -d /tmp/kh-district-host-XXXXXX)  # outside /work: the district host sees it
HANDOFF=$T/handoff                           # what travels between the hosts (a USB stick)
mkdir -p "$HANDOFF"
chmod 0755 "$T" "$HANDOFF"                   # the officer reads the report from there
NS=khd-$P HV=khd${P}h NV=khd${P}n
HOLDER="" NODE=""

cleanup() {
    local p
    [ -n "$NODE" ] && kill -KILL "$NODE" 2>/dev/null
    # whatever still runs on the district host (this test started all of it)
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    [ -n "$HOLDER" ] && kill -KILL "$HOLDER" 2>/dev/null
    pipeline stop >/dev/null 2>&1
    ip netns del "$NS" 2>/dev/null
    ip link del "$HV" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$T"
    return 0
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- 0. the package, from the tree make install-node stages ----
mk() { make -s --no-print-directory -C "$TOP" B="$B" INSTALL_NO_BUILD=1 "$@"; }
mk install-node DESTDIR="$T/stage" >"$OUT/install-node.out" 2>&1
check_eq "make install-node DESTDIR=… succeeds" 0 $?
check_eq "it installs only the district's files: kh-node, its unit, node-setup.sh, kh.ini, data" \
    "etc/khuyenhoc/kh.ini usr/local/bin/kh-node usr/local/lib/systemd/system/kh-node@.service usr/local/share/khuyenhoc/node-setup.sh" \
    "$(cd "$T/stage" && find . -type f ! -path './usr/local/share/khuyenhoc/data/*' | sed 's|^\./||' | sort | paste -sd' ')"
check_eq "…and the whole catalogue (every data/ file, vinh_long too)" \
    "$(cd "$TOP/data" && find . -name '*.csv' | sort | paste -sd' ')" \
    "$(cd "$T/stage/usr/local/share/khuyenhoc/data" && find . -type f | sort | paste -sd' ')"
check "the staged binary is the one built" cmp -s "$T/stage/usr/local/bin/kh-node" "$TOP/$B/bin/kh-node"
sed -i 's|^collector = .*|collector = tcp://192.0.2.1:7101|' "$T/stage/etc/khuyenhoc/kh.ini"
mk install-node DESTDIR="$T/stage" >"$OUT/install-node2.out" 2>&1
check "install-node again keeps a changed kh.ini (the new default beside it as kh.ini.dist)" \
    bash -c "grep -q '^collector = tcp://192.0.2.1:7101' '$T/stage/etc/khuyenhoc/kh.ini' && test -f '$T/stage/etc/khuyenhoc/kh.ini.dist'"
mk uninstall-node DESTDIR="$T/stage" >"$OUT/uninstall-node.out" 2>&1
check_eq "uninstall-node removes it all but the changed kh.ini" "./etc/khuyenhoc/kh.ini" \
    "$(cd "$T/stage" && find . -type f | paste -sd' ')"
mk node-deb >"$OUT/node-deb.out" 2>&1
check_eq "make node-deb succeeds" 0 $?
deb=$(ls "$TOP/$B"/khuyenhoc-node_*.deb 2>/dev/null | head -1)
cp "$deb" "$HANDOFF/khuyenhoc-node.deb"
check_eq "the package holds the tree install-node staged (PREFIX=/usr), nothing else" \
    "$(cd "$TOP/$B/node-deb/root" && find . ! -path './DEBIAN*' -type f | sort | paste -sd' ')" \
    "$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { print $6 }' | sort | paste -sd' ')"
depends=$(dpkg-deb -f "$deb" Depends)
check_eq "its Depends are computed from the binary's libraries (scripts/node-deps.sh)" \
    "$("$TOP/scripts/node-deps.sh" "$TOP/$B/bin/kh-node"), passwd" "$depends"
check_eq "…runtime packages only (no -dev, no compiler, no test tool)" "" \
    "$(tr ',' '\n' <<<"$depends" | awk '{ print $1 }' |
       grep -E -- '-dev$|^(gcc|g\+\+|cpp|clang|make|cmake)(-[0-9.]+)?$|cmocka|python' )"
# (libgcc-s1 is a runtime library every Debian system has: a sanitizer build links it)

# ---- 1. two hosts: the province here, the district in its own namespaces ----
a=$(((P >> 8) & 255)) b=$((P & 255))
for _ in $(seq 1 256); do
    ip -4 addr show | grep -q "inet 10\.$a\.$b\." || break
    b=$(((b + 1) & 255))
done
net=10.$a.$b
ip netns add "$NS" && ip link add "$HV" type veth peer name "$NV" &&
    ip link set "$NV" netns "$NS" &&
    ip addr add "$net.1/30" dev "$HV" && ip -n "$NS" addr add "$net.2/30" dev "$NV" &&
    ip link set "$HV" up && ip -n "$NS" link set "$NV" up && ip -n "$NS" link set lo up ||
    { echo "not ok - cannot create the district's network namespace"; exit 1; }
set_conf collector listen "tcp://$net.1:$base"
"$BIN/kh-admin" keys revoke "$D-1" >/dev/null   # run-local's key for 829: not the district's
for s in notifier aggregator validator collector; do
    pipeline restart "$s" >/dev/null || { echo "not ok - the province's $s did not start"; exit 1; }
done

# the overlays' upper layers on a tmpfs of the district's own (an upper layer cannot be
# on an overlay, as / is in a container); it lives as long as the namespace
mkdir -p "$T/layers"
cat >"$T/host.sh" <<EOF
set -e
mount -t tmpfs -o mode=0700 tmpfs "$T/layers"
for d in etc var usr; do
    mkdir -p "$T/layers/up/\$d" "$T/layers/wk/\$d"
    mount -t overlay overlay -o "lowerdir=/\$d,upperdir=$T/layers/up/\$d,workdir=$T/layers/wk/\$d" "/\$d"
done
if [ -d /work ]; then mount -t tmpfs -o size=1m,mode=0755 tmpfs /work; fi
if [ -d "$TOP" ]; then mount -t tmpfs -o size=1m,mode=0755 tmpfs "$TOP"; fi
touch "$T/host.ready"
exec sleep infinity
EOF
ip netns exec "$NS" unshare -m --propagation private bash "$T/host.sh" 2>"$OUT/host.err" &
HOLDER=$!
wait_for 60 test -e "$T/host.ready" || { echo "not ok - the district host did not start"; cat "$OUT/host.err"; exit 1; }
# host CMD… — CMD on the district host: its namespaces, an empty environment, cwd /
host() {
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 KH_CLOCK="$TEST_CLOCK" \
        nsenter -t "$HOLDER" -m -n --wd=/ -- "$@"
}
# as USER GROUP CMD… — CMD on the district host as USER with group GROUP (and USER's
# other groups), umask 022 as an officer's login has
as() {
    local u=$1 g=$2; shift 2
    host setpriv --reuid="$u" --regid="$g" --init-groups sh -c 'umask 022; exec "$@"' sh "$@"
}
# fatal if not: dpkg -i below must never reach the machine the test runs on
if host sh -c "! test -e '$TOP/Makefile' && ! test -e '$TOP/$B/bin/kh-node' && test -e '$T/layers/up/etc'"; then
    echo "ok - the district host sees no build tree, and its own /etc"
else
    echo "not ok - the district host sees the build tree or the real /etc: stopping"; exit 1
fi
check "the district host has no route but its veth" \
    host sh -c "! ip -4 route | grep -v '^$net\.' | grep -q ."
check "the district host has no kh-node before the package" host sh -c '! command -v kh-node'

# ---- 2. README step 1: install the package ----
host dpkg -i "$HANDOFF/khuyenhoc-node.deb" >"$OUT/dpkg.out" 2>&1
check_eq "dpkg -i khuyenhoc-node.deb succeeds (dependencies met, postinst ran)" 0 $?
check_eq "dpkg says installed" "install ok installed" \
    "$(host dpkg-query -W -f='${Status}' khuyenhoc-node 2>&1)"
check_eq "kh-node is /usr/bin/kh-node and runs with the build tree hidden" \
    "/usr/bin/kh-node 0" "$(host sh -c 'command -v kh-node; kh-node --version >/dev/null; echo $?' | paste -sd' ')"
check_eq "every library it loads is found, none from a build folder" "" \
    "$(host ldd /usr/bin/kh-node | grep -e 'not found' -e /work -e "$TOP")"
check_eq "the postinst made the user khnode (primary group kh-officers) and the group" \
    "khnode kh-officers" "$(host sh -c 'id -un khnode; id -gn khnode' | paste -sd' ')"
check_eq "state folder, node folder, spool, keys: owners and modes" \
    "750 khnode:kh-officers|750 khnode:kh-officers|2770 khnode:kh-officers|700 khnode:kh-officers" \
    "$(host stat -c '%a %U:%G' /var/lib/khuyenhoc /var/lib/khuyenhoc/node \
        /var/lib/khuyenhoc/node/spool /var/lib/khuyenhoc/keys | paste -sd'|')"
modes=$(host stat -c '%a %U:%G' /var/lib/khuyenhoc /var/lib/khuyenhoc/node \
    /var/lib/khuyenhoc/node/spool /var/lib/khuyenhoc/keys | paste -sd'|')
check_eq "node-setup.sh again (an upgrade's postinst): exit 0, nothing changed" "0 $modes" \
    "$(host /usr/share/khuyenhoc/node-setup.sh >/dev/null 2>&1; echo $?) $(host stat -c '%a %U:%G' \
        /var/lib/khuyenhoc /var/lib/khuyenhoc/node /var/lib/khuyenhoc/node/spool \
        /var/lib/khuyenhoc/keys | paste -sd'|')"
CONF=/etc/khuyenhoc/kh.ini
check_eq "the installed config: run_dir, data_dir and [node] dir of the district host" \
    "/var/lib/khuyenhoc /usr/share/khuyenhoc/data %RUN%/node" \
    "$(host sed -n -e 's/^\(run_dir\|data_dir\) = \([^ ;]*\).*/\2/p' \
        -e '/^\[node\]/,/^\[/s/^dir = \([^ ;]*\).*/\1/p' "$CONF" | paste -sd' ')"
check_eq "no build-tree path in the installed config or unit" "" \
    "$(host grep -l -e /work -e "$TOP" "$CONF" /usr/lib/systemd/system/kh-node@.service)"
check_eq "one unit only: kh-node@.service (no province service)" "/usr/lib/systemd/system/kh-node@.service" \
    "$(host dpkg -L khuyenhoc-node | grep '\.service$' | paste -sd' ')"
mkdir -p "$T/verify"
host cp /usr/lib/systemd/system/kh-node@.service "$T/verify/kh-node@$D.service"
verify=$(cd "$T/verify" && host sh -c "cd '$T/verify' && timeout 60 systemd-analyze verify ./kh-node@$D.service 2>&1; echo rc=\$?")
check_eq "systemd-analyze verify reads the installed node unit without a complaint" "rc=0" "$verify"

# ---- 3. README step 2: kh-node keygen on the district host ----
host kh-node keygen --district "$D" >"$OUT/keygen.out" 2>&1
check_eq "kh-node keygen --district $D succeeds" 0 $?
check "…and says what to do next: send the .pub, kh-admin keys register" \
    grep -q "kh-admin keys register node-$D.pub" "$OUT/keygen.out"
check "…in Vietnamese too" grep -q "Gửi tệp /var/lib/khuyenhoc/keys/node-$D.pub cho quản trị viên của tỉnh" "$OUT/keygen.out"
KEYS=/var/lib/khuyenhoc/keys
check_eq "the secret key is 0600, the node's (made as root, given to the folder's owner)" \
    "600 khnode" "$(host stat -c '%a %U' "$KEYS/node-$D.key")"
sum1=$(host sha256sum "$KEYS/node-$D.key")
rc=0; host kh-node keygen --district "$D" >"$OUT/keygen2.out" 2>&1 || rc=$?
check_eq "keygen again: refused (exit 1), the key kept" "1 $sum1" "$rc $(host sha256sum "$KEYS/node-$D.key")"
check "…saying why and what --force means" grep -q "a key exists already.*--force" "$OUT/keygen2.out"
rc=0; host kh-node keygen --district 28756 >"$OUT/keygen3.out" 2>&1 || rc=$?
check_eq "keygen for a unit that does not report: refused, no file" "1 0" \
    "$rc $(host sh -c "ls $KEYS | grep -c 28756")"

# ---- 4. README step 3: the .pub to the province, which registers it ----
host cat "$KEYS/node-$D.pub" >"$HANDOFF/node-$D.pub"
check_eq "the .pub holds no secret" 0 "$(grep -c '^secret' "$HANDOFF/node-$D.pub")"
"$BIN/kh-admin" keys register "$HANDOFF/node-$D.pub" >"$OUT/register.out" 2>&1
check_eq "kh-admin keys register node-$D.pub at the province succeeds" 0 $?
kid=$(sed -n 's/^id = //p' "$HANDOFF/node-$D.pub")
check "…the key the district made" grep -q "registered $kid (district $D)" "$OUT/register.out"
sed -e 's/^unit = .*/unit = 28756/' -e "s/^id = .*/id = fake-$P/" "$HANDOFF/node-$D.pub" >"$HANDOFF/fake.pub"
rc=0; "$BIN/kh-admin" keys register "$HANDOFF/fake.pub" >/dev/null 2>&1 || rc=$?
check_eq "registration still refuses a unit that does not report (exit 3)" 3 "$rc"

# ---- 5. README steps 4-5: server.pub back, [node] collector set ----
cp "$RUN/keys/server.pub" "$HANDOFF/server.pub"
host install -o khnode -g kh-officers -m 0644 "$HANDOFF/server.pub" "$KEYS/server.pub"
check_eq "server.pub is in place" 0 $?
host sed -i "s|^collector = .*|collector = tcp://$net.1:$base|" "$CONF"
check_eq "[node] collector points at the province" "tcp://$net.1:$base" \
    "$(host sed -n '/^\[node\]/,/^\[/s/^collector = //p' "$CONF")"

# ---- 6. README step 6: the node started as its unit starts it ----
unit=$(host cat /usr/lib/systemd/system/kh-node@.service)
cmd=$(sed -n 's/^ExecStart=//p' <<<"$unit"); cmd=${cmd//%i/$D}
user=$(sed -n 's/^User=//p' <<<"$unit") group=$(sed -n 's/^Group=//p' <<<"$unit")
umask_=$(sed -n 's/^UMask=//p' <<<"$unit")
check_eq "the unit runs the installed kh-node as khnode:kh-officers, umask 0027" \
    "/usr/bin/kh-node run --district $D --config /etc/khuyenhoc/kh.ini khnode kh-officers 0027" \
    "$cmd $user $group $umask_"
# not through host(): $! must be the node itself (env, nsenter, setpriv and sh each exec)
# shellcheck disable=SC2086  # the ExecStart words
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 KH_CLOCK="$TEST_CLOCK" \
    nsenter -t "$HOLDER" -m -n --wd=/ -- setpriv --reuid="$user" --regid="$group" --init-groups \
    sh -c "umask $umask_; cd /var/lib/khuyenhoc && exec \"\$@\"" sh $cmd >"$NODELOG" 2>&1 &
NODE=$!
check "the node is ready" wait_for 120 grep -q '"event":"service.ready"' "$NODELOG"
# README step 7: kh-node check on the district host, as the node's user
rc=0
as "$user" "$group" kh-node check --district "$D" --config /etc/khuyenhoc/kh.ini \
    >"$OUT/check.out" 2>&1 || rc=$?
check_eq "kh-node check on the district host: exit 0" 0 "$rc"
check "…every line OK: key file, server key, reachable, registered, spool, clock" \
    sh -c "! grep -q '^LỖI/FAIL' '$OUT/check.out' && test \$(grep -c '^OK ' '$OUT/check.out') -ge 6"

# ---- 7. README step 8: an officer, not root, drops the report into the spool ----
host useradd -M -U -G kh-officers -s /bin/sh "kho$P"
host useradd -M -U -s /bin/sh "khx$P"            # not an officer
check_eq "the officer is not root, a member of kh-officers" "kho$P kh-officers" \
    "$(as "kho$P" "kho$P" sh -c 'id -un; id -Gn | tr " " "\n" | grep -x kh-officers' | paste -sd' ')"
python3 "$TOP/scripts/gen-demo-data.py" "$RUN/input" >/dev/null 2>&1
report=$RUN/input/$D/$D-2020S2.csv
cp "$report" "$HANDOFF/$D-2020S2.csv"
chmod 0644 "$HANDOFF/$D-2020S2.csv"
SPOOL=/var/lib/khuyenhoc/node/spool
rc=0; as "khx$P" "khx$P" sh -c "cat '$HANDOFF/$D-2020S2.csv' >$SPOOL/x.csv" 2>/dev/null || rc=$?
check "someone not in kh-officers cannot drop a file" test "$rc" != 0
as "kho$P" "kho$P" sh -c "cp '$HANDOFF/$D-2020S2.csv' $SPOOL/.$D-2020S2.part && mv $SPOOL/.$D-2020S2.part $SPOOL/$D-2020S2.csv"
check_eq "the officer drops the report with the usual umask, no root" 0 $?
counted() { [ "$(sql "$RUN/aggregator.db" "SELECT count(*) FROM counted WHERE district='$D'")" = 1 ]; }
check "the province counts it" wait_for 180 counted
receipts=$SPOOL/sent/$D-2020S2.csv.receipts.jsonl
has_counted() { as "kho$P" "kho$P" grep -q '"stage":"counted"' "$receipts" 2>/dev/null; }
check "the officer reads the receipts beside the sent file, up to counted" wait_for 120 has_counted
check_eq "receipts: queued, received, accepted, counted" "queued received accepted counted" \
    "$(as "kho$P" "kho$P" cat "$receipts" | python3 -c 'import json,sys; print(" ".join(json.loads(l)["stage"] for l in sys.stdin))')"
check_eq "the sent file and its receipts: group kh-officers, readable by it" "kh-officers 640" \
    "$(host stat -c '%G %a' "$receipts")"
check "run-local's key for $D is revoked: only the key the district made can have sent it" \
    bash -c "'$BIN/kh-admin' keys list | grep -w '$D-1' | grep -q revoked"

# the province's values against the sums computed from the file
"$BIN/kh-feed" sync >/dev/null
for lvl in 2 1; do "$BIN/kh-feed" export --period 2020S2 --level "$lvl" --no-sync; done |
    grep -v '^period,' | (echo period,orgunit,indicator,value; cat) >"$OUT/actual.csv"
python3 "$TOP/tests/e2e/expected_totals.py" "$report" >"$OUT/expected.csv"
check "the counted values equal the sums of the report, district and province" \
    python3 "$TOP/tests/e2e/compare_csv.py" "$OUT/expected.csv" "$OUT/actual.csv"
check_eq "the export has the district's rows" 1 "$(grep -c "^2020S2,$D,HO.TONG," "$OUT/actual.csv")"

# a file saved unreadable to the group (umask 077): refused unread, with a receipt the
# officer can read (node-setup.sh: why a group and not ACLs)
as "kho$P" "kho$P" sh -c "umask 077; cp '$HANDOFF/$D-2020S2.csv' $SPOOL/.private.part && mv $SPOOL/.private.part $SPOOL/private.csv"
refused_unreadable() { as "kho$P" "kho$P" grep -q FILE_UNREADABLE "$SPOOL/refused/private.csv.receipts.jsonl" 2>/dev/null; }
check "a file the officer saved with umask 077: refused unread (FILE_UNREADABLE), receipt readable" \
    wait_for 120 refused_unreadable

# ---- 8. stop as systemd does ----
kill -TERM "$NODE"; wait_gone 60 "$NODE"
wait "$NODE"; rc=$?; NODE=""
check_eq "SIGTERM: the node exits 0" 0 "$rc"
check_eq "the node logged no error" "" "$(grep '"level":"error"' "$NODELOG" | head -3)"
host cat /var/lib/khuyenhoc/node/outbox.db >"$OUT/outbox.db"   # closed: no WAL left
check_eq "nothing waits in the node's outbox" 0 \
    "$(sql "$OUT/outbox.db" "SELECT count(*) FROM outbox_collector")"

# a new key only on purpose: --force replaces both files and says the province rotates
host kh-node keygen --district "$D" --force >"$OUT/keygen4.out" 2>&1
check_eq "keygen --force: a new key, still 0600" "0 600" "$? $(host stat -c %a "$KEYS/node-$D.key")"
check "…and the province is told to rotate, not register" \
    grep -q "kh-admin keys rotate --old OLD_KEY_ID --new node-$D.pub" "$OUT/keygen4.out"
check "…a key other than the registered one" \
    test "$(host sha256sum "$KEYS/node-$D.key")" != "$sum1"
