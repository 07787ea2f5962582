#!/usr/bin/env bash
# The node's web page over plain HTTP (curl), against the running node (issue 14): the
# routes answer; a form without the page's token (CSRF) is refused; an upload over
# [node] max_file_bytes is refused with a clear page and leaves nothing behind; a
# report checked on the page is queued by "Send" once, whatever the repeats; a request
# naming another host is refused (DNS rebinding); a non-loopback web_listen without a
# password file stops the node with what to do; `kh-node web-password` writes a
# libsodium hash and HTTP Basic auth works against it; HTTPS with the office's client
# certificates lets in only a browser with one; a port already taken leaves the node
# running without its page.  The collector is not running: the page does not need it.
source "$(dirname "$0")/lib.sh"
set -u
QUIET=1
start_test web
base=$((20000 + ($$ % 400) * 10))
port=$((base + 8))
site=http://127.0.0.1:$port
python3 "$TOP/scripts/gen-demo-data.py" "$RUN/input" 2>/dev/null
bound=65536
set_conf node max_file_bytes $bound
set_conf node web_listen "127.0.0.1:$port"
set_conf node metrics "127.0.0.1:$((base + 7))"
mkdir -p "$RUN/logs"
node_log=$RUN/logs/node-835.log
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done' EXIT

start_node() {     # start_node DISTRICT — kh-node run in the background; its pid in $node_pid
    local off; off=$(log_size "node-$1")
    "$BIN/kh-node" run --district "$1" >>"$RUN/logs/node-$1.log" 2>&1 &
    node_pid=$!; pids+=("$node_pid")
    wait_for 120 ready_since "node-$1" "$node_pid" "$off"
}
stop_node() { kill -TERM "$1" 2>/dev/null; wait_gone "$KILL_WAIT_S" "$1"; }
code() { curl -s -o "$RUN/body" -w '%{http_code}' "$@"; }

start_node 835 || { echo "not ok - the node starts with its web page"; exit 1; }
check "the node starts with its web page" grep -q "\"event\":\"web.start\".*$port" "$node_log"

# ---- the routes -------------------------------------------------------------------------------
check_eq "GET / answers" 200 "$(code "$site/")"
check "…a page in Vietnamese with English beside it" \
    grep -q 'Nộp báo cáo.*Submit a report' "$RUN/body"
token=$(grep -o "name=csrf value='[0-9a-f]*'" "$RUN/body" | head -1 | sed "s/.*value='//; s/'//")
check_eq "…with a 64-hex token in its forms" 64 "${#token}"
check_eq "GET /api/status answers" 200 "$(code "$site/api/status")"
check "…JSON: the district, the connection state, the reports" python3 -c '
import json, sys
o = json.load(open(sys.argv[1]))
assert o["district"] == "835", o
assert o["conn"]["state"] in ("unknown", "ok", "refused_key", "wrong_server_key", "unreachable"), o
assert o["conn"]["message_vi"] and o["conn"]["message"], o
assert o["reports"] == [], o' "$RUN/body"
check_eq "an unknown page: 404" 404 "$(code "$site/nothing")"
check_eq "an unknown report: 404" 404 "$(code "$site/report/835-2018S1/9")"
check_eq "…and its JSON: 404" 404 "$(code "$site/api/report/835-2018S1/9")"
check_eq "the CSV template" "200 text/csv; charset=utf-8" \
    "$(curl -s -o "$RUN/tpl.csv" -w '%{http_code} %{content_type}' "$site/template?period=2019S2&format=csv")"
check "…is the district's template (BOM, machine row)" python3 -c '
import sys; b = open(sys.argv[1], "rb").read()
sys.exit(not (b.startswith(b"\xef\xbb\xbfperiod,orgunit,orgunit_name,")))' "$RUN/tpl.csv"
check_eq "the XLSX template" 200 "$(code "$site/template?period=2019S2&format=xlsx")"
check "…is a workbook" bash -c "head -c 2 '$RUN/body' | grep -q PK"
check_eq "a wrong period: 400" 400 "$(code "$site/template?period=2019S3&format=csv")"
check "…saying how to write it" grep -q '2020S1.*2020S2' "$RUN/body"
check_eq "a period the catalogue does not report: 400" 400 "$(code "$site/template?period=1999S1&format=csv")"
check_eq "another method: 405" 405 "$(code -X DELETE "$site/")"
check_eq "a request naming another host (DNS rebinding): 400" 400 \
    "$(code -H "Host: evil.example:$port" "$site/")"
check_eq "…localhost is the page's own name" 200 "$(code -H "Host: localhost:$port" "$site/")"

# ---- forms without the token ------------------------------------------------------------------
uploads=$RUN/node-835/web-uploads
good=$RUN/input/835/835-2018S1.csv
check_eq "an upload without the token: 403" 403 "$(code -F "file=@$good" "$site/upload")"
wrong=${token%?}$([ "${token: -1}" = 0 ] && echo 1 || echo 0)     # one character changed
check_eq "an upload with a wrong token: 403" 403 \
    "$(code -F "csrf=$wrong" -F "file=@$good" "$site/upload")"
check "…the page says to open the overview again" grep -q 'mở lại trang chính.*open the overview again' "$RUN/body"
check_eq "the connection check without the token: 403" 403 "$(code -d csrf=x "$site/check")"
check_eq "Send without the token: 403" 403 "$(code -d upload=00 "$site/send")"
check_eq "nothing refused is kept" "" "$(ls -A "$uploads")"

# ---- an upload over the bound -----------------------------------------------------------------
python3 -c 'import sys; open(sys.argv[1], "w").write("period,orgunit,indicator,value\n" + "x" * (int(sys.argv[2]) + 1))' \
    "$RUN/big.csv" "$bound"
check_eq "an upload over max_file_bytes: 413" 413 \
    "$(code -F "csrf=$token" -F "file=@$RUN/big.csv" "$site/upload")"
check "…a page that says so and what to do" \
    grep -q "Tệp quá lớn (tối đa $bound byte).*xoá các dòng.*too large (at most $bound bytes)" "$RUN/body"
python3 -c 'import sys; open(sys.argv[1], "w").write("x" * (4 * int(sys.argv[2])))' "$RUN/huge.csv" "$bound"
# without a length (chunked), the body is read up to the bound, then the connection is cut
check_eq "…sent chunked, without a length, far over the bound: the connection is cut" 000 \
    "$(code -H 'Transfer-Encoding: chunked' -F "csrf=$token" -F "file=@$RUN/huge.csv" "$site/upload")"
check_eq "…the page still answers" 200 "$(code "$site/api/status")"
python3 -c 'import sys; open(sys.argv[1], "w").write("period,orgunit,indicator,value\n" + "x" * (int(sys.argv[2]) - 40000))' \
    "$RUN/near.csv" "$bound"
check_eq "a file just under the bound with its form is read (checked: 200)" 200 \
    "$(code -F "csrf=$token" -F "file=@$RUN/near.csv" "$site/upload")"
check "…and found wrong, not too large" grep -q 'id=n_errors>[1-9]' "$RUN/body"
check "no upload refused as too large is kept" \
    test "$(find "$uploads" -name 'big.csv' -o -name 'huge.csv' | wc -l)" -eq 0
check "…also sent chunked, just over the bound: 413" bash -c "test \"\$(curl -s -o /dev/null -w '%{http_code}' \
    -H 'Transfer-Encoding: chunked' -F 'csrf=$token' -F 'file=@$RUN/big.csv' '$site/upload')\" = 413"
check "the refusals are logged (warn, web.refused)" \
    grep -q '"level":"warn".*"event":"web.refused"' "$node_log"

# ---- check, then send once -------------------------------------------------------------------
check_eq "the good report uploaded: 200" 200 "$(code -F "csrf=$token" -F "file=@$good" "$site/upload")"
check "…0 errors and a Send button" grep -q 'id=n_errors>0<.*id=send' "$RUN/body"
up=$(grep -o "name=upload value='[0-9a-f]*'" "$RUN/body" | sed "s/.*value='//; s/'//")
check "…kept in a folder of its own under its own name" test -f "$uploads/$up/835-2018S1.csv"
check_eq "Send: 303 to the report's page" "303 /report/835-2018S1/1" \
    "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -d "csrf=$token" -d "upload=$up" "$site/send" | sed "s|$site||")"
check_eq "Send again: the same report, not a new revision" "303 /report/835-2018S1/1" \
    "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -d "csrf=$token" -d "upload=$up" "$site/send" | sed "s|$site||")"
check_eq "the node has it queued, once" "835-2018S1 1 queued" \
    "$(node_stages 835 | awk -F'\t' '{print $1, $2, $3}')"
check "its receipts file is beside the uploaded file" \
    grep -q '"stage":"queued"' "$uploads/$up/835-2018S1.csv.receipts.jsonl"
check_eq "the report's page answers" 200 "$(code "$site/report/835-2018S1/1")"
check "…with its stage" grep -q "data-stage='queued'" "$RUN/body"
check_eq "…and its JSON" "queued" \
    "$(curl -s "$site/api/report/835-2018S1/1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["stage"])')"
check_eq "a made-up upload id: 404" 404 "$(code -d "csrf=$token" -d "upload=../../etc" "$site/send")"
check "the upload and the submission are logged (info) with district and report_id" \
    grep -q '"event":"web.submit".*"district":"835","report_id":"835-2018S1"' "$node_log"
check_eq "the connection check with the token: 200" 200 "$(code -d "csrf=$token" "$site/check")"
metric() { curl -s "http://127.0.0.1:$((base + 7))/metrics" | sed -n "s/^$1 //p"; }
check_eq "the page's counts in the node's metrics: reports queued from the page" 1 \
    "$(metric kh_node_web_submitted_total)"
check_eq "…files checked (the one just under the bound, the good one)" 2 "$(metric kh_node_web_uploads_total)"
check_eq "…requests refused (4 without the token, 2 too large, 1 cut, 1 host)" 8 \
    "$(metric kh_node_web_refused_total)"

# ---- a port already taken: the node runs on without its page --------------------------------
off=$(log_size node-829)
set_conf node metrics ""
start_node 829
check "a second node on the same port still starts" ready_since node-829 "$node_pid" "$off"
check "…and logs why it has no page (web.listen)" \
    grep -q '"level":"error".*"event":"web.listen".*chọn cổng khác.*another port' "$RUN/logs/node-829.log"
stop_node "$node_pid"
stop_node "${pids[0]}"

# ---- the office's network: a password, or no page -------------------------------------------
set_conf node web_listen "0.0.0.0:$port"
rc=0; timeout 120 "$BIN/kh-node" run --district 835 >"$RUN/refused.log" 2>&1 || rc=$?
check_eq "a non-loopback web_listen without a password: the node does not start (exit 1)" 1 "$rc"
check "…saying what to do, in Vietnamese and English" \
    grep -q '"event":"web.config".*kh-node web-password FILE.*web_password_file.*127.0.0.1' "$RUN/refused.log"
rc=0; printf 'ngan\n' | "$BIN/kh-node" web-password "$RUN/web.pass" 2>"$RUN/pw.err" || rc=$?
check_eq "kh-node web-password refuses a short password (exit 1)" 1 "$rc"
check "…saying so" grep -q 'ít nhất\|từ 8 ký tự' "$RUN/pw.err"
pass='mật-khẩu-huyện-835'
check "kh-node web-password FILE writes the password's hash" \
    bash -c "printf '%s\n' '$pass' | '$BIN/kh-node' web-password '$RUN/web.pass' >/dev/null"
check "…a libsodium crypto_pwhash_str (argon2id), not the password" \
    bash -c "grep -q '^\\\$argon2id\\\$' '$RUN/web.pass' && ! grep -qF '$pass' '$RUN/web.pass'"
check_eq "…mode 0640 or stricter" "" "$(find "$RUN/web.pass" -perm /027)"
set_conf node web_password_file "$RUN/web.pass"
start_node 835 || echo "not ok - the node starts with a password"
check_eq "with a password: no password, 401" 401 "$(code "$site/")"
check "…asking for Basic auth" bash -c "curl -s -D - -o /dev/null '$site/' | grep -qi '^WWW-Authenticate: Basic'"
check_eq "…a wrong password: 401" 401 "$(code -u "x:sai-mat-khau" "$site/")"
check_eq "…the right password (any user name): 200" 200 "$(code -u "can-bo:$pass" "$site/")"
check_eq "…again (remembered, still checked): 200" 200 "$(code -u "other:$pass" "$site/api/status")"
check_eq "…and not a longer one: 401" 401 "$(code -u "x:${pass}x" "$site/")"
check "the wrong password is logged (warn)" \
    grep -q '"event":"web.refused","msg":"a wrong password' "$node_log"
stop_node "$node_pid"
set_conf node web_password_file "$RUN/nothing.pass"
rc=0; timeout 120 "$BIN/kh-node" run --district 835 >"$RUN/refused2.log" 2>&1 || rc=$?
check_eq "a password file that cannot be read: the node does not start (exit 1)" 1 "$rc"

# ---- HTTPS with the office's client certificates -----------------------------------------------
pki=$RUN/pki
mkdir -p "$pki"
mkcert() {     # mkcert NAME CN [CA] — NAME.key, NAME.crt signed by CA (else self-signed)
    if [ -z "${3:-}" ]; then
        openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/$1.key" -out "$pki/$1.crt" \
            -days 3650 -subj "/CN=$2" 2>/dev/null
    else
        openssl req -newkey rsa:2048 -nodes -keyout "$pki/$1.key" -out "$pki/$1.csr" \
            -subj "/CN=$2" 2>/dev/null &&
        openssl x509 -req -in "$pki/$1.csr" -CA "$pki/$3.crt" -CAkey "$pki/$3.key" \
            -CAcreateserial -out "$pki/$1.crt" -days 3650 \
            -extfile <(printf 'subjectAltName=IP:127.0.0.1\n') 2>/dev/null
    fi
}
mkcert ca "office CA" && mkcert server 127.0.0.1 ca && mkcert officer "can bo 835" ca &&
    mkcert stranger "someone else"
check "the test's certificates are made (openssl)" test -s "$pki/officer.crt" -a -s "$pki/stranger.crt"
set_conf node web_password_file ""
set_conf node web_listen "0.0.0.0:$port"
set_conf node web_tls_cert "$pki/server.crt"
set_conf node web_tls_key "$pki/server.key"
set_conf node web_tls_client_ca "$pki/ca.crt"
start_node 835 || echo "not ok - the node starts with HTTPS and a client CA"
check "…on the office's network without a password: https, client certificate" \
    grep -q '"event":"web.start","msg":"trang web / web page: https://0.0.0.0:.*client certificate' "$node_log"
tls=(--cacert "$pki/ca.crt")
check_eq "HTTPS with the officer's certificate: 200" 200 \
    "$(code "${tls[@]}" --cert "$pki/officer.crt" --key "$pki/officer.key" "https://127.0.0.1:$port/")"
check "…the page itself" grep -q 'Nộp báo cáo' "$RUN/body"
check_eq "HTTPS without a certificate: 403" 403 "$(code "${tls[@]}" "https://127.0.0.1:$port/")"
check "…saying to ask for one" grep -q 'chứng chỉ.*certificate' "$RUN/body"
check_eq "HTTPS with a certificate another CA signed: 403" 403 \
    "$(code "${tls[@]}" --cert "$pki/stranger.crt" --key "$pki/stranger.key" "https://127.0.0.1:$port/")"
check_eq "plain HTTP to the HTTPS page: no page" 000 "$(code "http://127.0.0.1:$port/")"
stop_node "$node_pid"
set_conf node web_tls_key ""
rc=0; timeout 120 "$BIN/kh-node" run --district 835 >"$RUN/refused3.log" 2>&1 || rc=$?
check_eq "a certificate without its key: the node does not start (exit 1)" 1 "$rc"

check "every log line is one JSON object" python3 -c '
import json, sys
for f in sys.argv[1:]:
    for l in open(f, encoding="utf-8"):
        json.loads(l)' "$RUN"/logs/*.log "$RUN"/refused*.log
check_eq "nothing the page made is readable by others" "" \
    "$(find "$RUN/node-835" -perm /027 -printf '%m %p\n')"
