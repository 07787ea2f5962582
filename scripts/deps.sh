#!/usr/bin/env bash
# deps.sh — make sure the build and test dependencies are installed.
# Installs missing Debian packages with apt-get when run as root; otherwise prints
# the exact command to run and fails.
set -eu
pkgs=(build-essential pkg-config protobuf-c-compiler libprotobuf-c-dev libzmq3-dev
      libsqlite3-dev sqlite3 libuv1-dev libinih-dev libjansson-dev libcsv-dev libunistring-dev
      libxlsxwriter-dev libcmocka-dev libsodium-dev python3 procps iproute2
      libsystemd-dev libmicrohttpd-dev libcurl4-openssl-dev   # sd_notify, metrics, webhook
      libzstd-dev zstd                   # the aggregator's stored verdicts (and tests reading them)
      libzip-dev libxml2-dev             # kh-node reads .xlsx (services/node/sheet.c)
      libreoffice-calc                   # test_spreadsheet: .xlsx and CSV written by LibreOffice;
                                         # kh-feed export --format pdf (issue 15)
      poppler-utils                      # pdfinfo, pdftotext read the PDFs (test_workbook, test_dashboard)
      systemd curl                       # systemd-analyze verify (test_install), curl (tests)
      passwd util-linux                  # make node-deb's postinst, test_district_host (setpriv, nsenter)
      faketime stress-ng                 # the calendar tier of CI, the CPU-hog check (issue 10)
      chromium chromium-driver           # the web page in a real browser (test_webpage)
      libgnutls28-dev openssl            # the web page's client certificates (test_web)
      clang libclang-rt-14-dev)          # make san, make fuzz (ASan, UBSan, libFuzzer)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages; run:  sudo apt-get update && sudo $cmd" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
$cmd >&2
