#!/usr/bin/env bash
# Certificates for Concord's TLS, made with openssl: a CA, then one certificate per process
# signed by it (server and client use, so the same file serves mutual TLS).
#   scripts/tls.sh ca DIR                 — DIR/ca.pem and DIR/ca-key.pem, unless they exist
#   scripts/tls.sh cert DIR NAME [HOST…]  — DIR/NAME.pem and DIR/NAME-key.pem for localhost,
#                                           127.0.0.1 and each HOST (a DNS name or an IP address)
set -euo pipefail
command=$1 dir=$2
mkdir -p "$dir"
case "$command" in
  ca)
    [ -f "$dir/ca.pem" ] && [ -f "$dir/ca-key.pem" ] && exit 0
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
      -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" -subj "/CN=Concord local CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    chmod 600 "$dir/ca-key.pem"
    ;;
  cert)
    name=$3; shift 3
    names="DNS:localhost,IP:127.0.0.1,DNS:$name"
    for host in "$@"; do
      if [[ $host =~ ^[0-9.]+$|: ]]; then names+=",IP:$host"; else names+=",DNS:$host"; fi
    done
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/$name-key.pem" \
      -out "$dir/$name.csr" -subj "/CN=$name" 2>/dev/null
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" -CAcreateserial \
      -days 825 -out "$dir/$name.pem" -extfile <(printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n' "$names") 2>/dev/null
    rm -f "$dir/$name.csr"
    chmod 600 "$dir/$name-key.pem"
    ;;
  *) echo "usage: $0 ca DIR | cert DIR NAME [HOST…]" >&2; exit 2 ;;
esac
