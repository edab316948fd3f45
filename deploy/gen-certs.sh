#!/usr/bin/env bash
# Makes a cluster CA, a certificate per node and a client certificate with the `openssl`
# command, for Sluice's TLS listeners (docs/TLS.md).
#
#   deploy/gen-certs.sh [--nodes N] [OUT_DIR] [extra names...]
#
# OUT_DIR defaults to ./certs. Each node certificate (node1..nodeN, N=3 by default) carries
# SANs for its own name, localhost, 127.0.0.1..127.0.0.9 and every extra name (an IP address
# becomes an IP SAN, anything else a DNS SAN), and may be used as server and as client
# (nodes connect to each other with mutual TLS). client.crt has only the clientAuth usage.
#
# Idempotent: files that exist are kept (delete one to have it made again; deleting ca.key
# means every certificate must be remade). Keys are ECDSA P-256: fast to make and to use.
set -euo pipefail

nodes=3
positional=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --nodes) nodes="$2"; shift 2 ;;
        --nodes=*) nodes="${1#--nodes=}"; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) positional+=("$1"); shift ;;
    esac
done
[[ "$nodes" =~ ^[0-9]+$ && "$nodes" -ge 1 ]] || { echo "gen-certs: --nodes needs a positive number" >&2; exit 2; }
out="${positional[0]:-certs}"
extra=("${positional[@]:1}")
days=825  # the longest validity clients such as Apple's accept for a leaf

mkdir -p "$out"
cd "$out"
umask 077  # keys readable by their owner only

made() { echo "made $(pwd)/$1"; }
kept() { echo "kept $(pwd)/$1 (exists)"; }

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

if [[ ! -f ca.key || ! -f ca.crt ]]; then
    new_key ca.key
    openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/O=Sluice/CN=Sluice cluster CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt
    made ca.crt
else
    kept ca.crt
fi

# sign NAME SUBJECT EXTENSIONS: a key and a certificate signed by the CA.
sign() {
    local name="$1" subject="$2" extensions="$3"
    if [[ -f "$name.key" && -f "$name.crt" ]]; then kept "$name.crt"; return; fi
    new_key "$name.key"
    openssl req -new -key "$name.key" -subj "$subject" -out "$name.csr"
    printf '%s\n' "$extensions" > "$name.ext"
    openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -CAserial ca.srl \
        -days "$days" -sha256 -extfile "$name.ext" -out "$name.crt" 2>/dev/null
    rm -f "$name.csr" "$name.ext"
    made "$name.crt"
}

san_list() {
    local sans="DNS:$1,DNS:localhost"
    for i in 1 2 3 4 5 6 7 8 9; do sans+=",IP:127.0.0.$i"; done
    for name in "${extra[@]}"; do
        if [[ "$name" =~ ^[0-9.]+$ || "$name" == *:* ]]; then sans+=",IP:$name"; else sans+=",DNS:$name"; fi
    done
    echo "$sans"
}

for ((n = 1; n <= nodes; n++)); do
    sign "node$n" "/O=Sluice/CN=node$n" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$(san_list "node$n")"
done

sign client "/O=Sluice/CN=client" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"

chmod 644 ca.crt ./*.crt
