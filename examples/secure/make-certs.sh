#!/usr/bin/env bash
# Certificates for the secure example (README "Security: a complete example"), made with openssl:
# a CA, one certificate per member (it serves clients, the AdminServer and its quorum connections)
# and one for the client app1. Every member here runs on 127.0.0.1; on real machines put each
# member's host name and address in its subjectAltName.
set -euo pipefail
cd "$(dirname "$0")"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 365 -subj /CN=example-zk-ca 2>/dev/null
for i in 1 2 3; do
  openssl req -newkey rsa:2048 -nodes -keyout zk$i.key -out zk$i.csr -subj /CN=zk$i 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' > zk$i.ext
  openssl x509 -req -in zk$i.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 -extfile zk$i.ext -out zk$i.crt 2>/dev/null
  cat zk$i.key zk$i.crt > zk$i.pem
  mkdir -p data/zk$i && echo $i > data/zk$i/myid
done
openssl req -newkey rsa:2048 -nodes -keyout app1.key -out app1.csr -subj /CN=app1 2>/dev/null
openssl x509 -req -in app1.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 -out app1.crt 2>/dev/null
cat app1.key app1.crt > app1.pem
echo "made ca.pem, zk1-3.pem, app1.pem and data/zk1-3/myid"
