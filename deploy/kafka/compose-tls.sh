#!/bin/sh
# kafka-tls-init (docker-compose.yml): a CA and the broker's certificate for the SASL_SSL listeners, made once with
# keytool alone (the apache/kafka image has a JRE, not necessarily openssl) and kept in volumes:
#   /etc/kafka/secrets (volume kafka-tls; only this job and the broker mount it): ca.p12 (the CA's key),
#     broker.p12 (the broker's key and chain), keystore.password
#   /mnt/shared/config (volume kafka-ca; every Kafka client mounts it read-only): ca.crt, public
# The certificate names kafka (the containers' bootstrap address), localhost and 127.0.0.1 (the host's), so clients
# keep hostname verification on. Both mount points belong to the image's user, and Docker copies that ownership into
# a new named volume, so the job needs no root. Idempotent: a later `docker compose up` finds the files and exits.
set -eu
tls=/etc/kafka/secrets
public=/mnt/shared/config
if [ -s "$tls/broker.p12" ] && [ -s "$tls/keystore.password" ] && [ -s "$public/ca.crt" ]; then
  echo "kafka-tls-init: certificates exist"
  exit 0
fi
umask 077
rm -f "$tls/ca.p12" "$tls/broker.p12" "$tls/broker.csr" "$tls/broker.crt" "$tls/keystore.password" "$public/ca.crt"
pw="$(head -c 24 /dev/urandom | base64 | tr -d '/+=\n')"
printf '%s' "$pw" >"$tls/keystore.password"
ks() { keytool -noprompt -storetype PKCS12 -storepass "$pw" "$@"; }
# bc:c: a CA certificate (BasicConstraints ca:true, critical), as keytool's documentation makes a root.
ks -genkeypair -keystore "$tls/ca.p12" -alias ca -keyalg RSA -keysize 3072 -validity 3650 -dname "CN=K2 compose Kafka CA" -ext bc:c
ks -genkeypair -keystore "$tls/broker.p12" -alias broker -keyalg RSA -keysize 2048 -validity 3650 -dname "CN=kafka"
ks -certreq -keystore "$tls/broker.p12" -alias broker -file "$tls/broker.csr"
ks -gencert -keystore "$tls/ca.p12" -alias ca -infile "$tls/broker.csr" -outfile "$tls/broker.crt" -rfc -validity 3650 \
  -ext SAN=dns:kafka,dns:localhost,ip:127.0.0.1 -ext EKU=serverAuth
umask 022
ks -exportcert -keystore "$tls/ca.p12" -alias ca -rfc -file "$public/ca.crt"
ks -importcert -keystore "$tls/broker.p12" -alias ca -file "$public/ca.crt"
ks -importcert -keystore "$tls/broker.p12" -alias broker -file "$tls/broker.crt"
rm -f "$tls/broker.csr" "$tls/broker.crt"
echo "kafka-tls-init: CA and broker certificate created"
