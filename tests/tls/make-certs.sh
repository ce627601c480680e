#!/usr/bin/env bash
# Makes throwaway certificates for testing the collector's HTTPS mode (and TLS clients) with
# the openssl command-line tool: nothing is committed, every run makes new keys.
#
#   tests/tls/make-certs.sh OUTDIR
#
# Writes into OUTDIR (created if missing), EC P-256 keys unless said otherwise, PKCS#8 PEM:
#   ca.pem ca.der ca.key        local root CA "honch test CA" (CA:TRUE, keyCertSign)
#   leaf.pem leaf.key           server leaf for IP 127.0.0.1 and DNS localhost, from the CA
#   leaf-rsa.pem leaf-rsa.key   the same with an RSA-2048 key
#   chain.pem chain.key         the same names, issued by intermediate.pem; chain.pem holds
#                               the leaf followed by the intermediate
#   intermediate.pem intermediate.key   intermediate CA issued by the CA (pathlen 0)
#   expired.pem expired.key     like leaf, valid only 2020-01-01 to 2020-02-01
#   wrong-host.pem wrong-host.key       from the CA, for DNS other.example only
#   self-signed.pem self-signed.key     for 127.0.0.1 and localhost, signed by itself
# Prints nothing unless something fails; exits non-zero on any failure.
set -euo pipefail

if [ "$#" -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
out=$1
command -v openssl >/dev/null || { echo "$0: the openssl command is required" >&2; exit 1; }
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077

# openssl ca chats on stderr even when it succeeds; keep its output for failures only.
run() {
    local log
    if ! log=$("$@" 2>&1); then
        printf '%s: failed: %s\n%s\n' "$0" "$*" "$log" >&2
        exit 1
    fi
}

cat >"$work/openssl.cnf" <<CNF
[ca]
default_ca = testca
[testca]
dir = $work
database = $work/index.txt
new_certs_dir = $work
serial = $work/serial
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[anything]
commonName = supplied
organizationName = optional
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[root_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[intermediate_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[local_leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = IP:127.0.0.1, DNS:localhost
[self_leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
subjectAltName = IP:127.0.0.1, DNS:localhost
[other_leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:other.example
CNF
: >"$work/index.txt"
printf '1000\n' >"$work/serial"

# key NAME [rsa]: a new private key in $out/NAME.key.
key() {
    if [ "${2:-}" = rsa ]; then
        run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$out/$1.key"
    else
        run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
            -pkeyopt ec_param_enc:named_curve -out "$out/$1.key"
    fi
}

# issue NAME CN EXTENSIONS ISSUER [openssl ca options...]: $out/NAME.pem for $out/NAME.key,
# signed by ISSUER (a name in $out, or "self").
issue() {
    local name=$1 cn=$2 ext=$3 issuer=$4
    shift 4
    run openssl req -new -config "$work/openssl.cnf" -key "$out/$name.key" \
        -subj "/O=honch test/CN=$cn" -out "$work/$name.csr"
    local signer=(-cert "$out/$issuer.pem" -keyfile "$out/$issuer.key")
    if [ "$issuer" = self ]; then
        signer=(-selfsign -keyfile "$out/$name.key")
    fi
    run openssl ca -batch -notext -config "$work/openssl.cnf" "${signer[@]}" \
        -extensions "$ext" -in "$work/$name.csr" -out "$out/$name.pem" "$@"
}

key ca
# Valid from well before the expired leaf, so that only the leaf's own dates are at fault.
issue ca "honch test CA" root_ca self -startdate 20190101000000Z -days 3650
run openssl x509 -in "$out/ca.pem" -outform DER -out "$out/ca.der"

key leaf
issue leaf 127.0.0.1 local_leaf ca -days 365
key leaf-rsa rsa
issue leaf-rsa 127.0.0.1 local_leaf ca -days 365

key intermediate
issue intermediate "honch test intermediate" intermediate_ca ca -days 3650
key chain
issue chain 127.0.0.1 local_leaf intermediate -days 365
cat "$out/intermediate.pem" >>"$out/chain.pem"

key expired
issue expired 127.0.0.1 local_leaf ca -startdate 20200101000000Z -enddate 20200201000000Z
key wrong-host
issue wrong-host other.example other_leaf ca -days 365
key self-signed
issue self-signed 127.0.0.1 self_leaf self -days 365

# The certificates are public; only the keys stay private to the user.
chmod 644 "$out"/*.pem "$out/ca.der"
