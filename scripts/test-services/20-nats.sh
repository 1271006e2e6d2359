# The NATS sink's TLS test starts a nats-server of its own (TLS, a user
# and password, JetStream in a temporary directory) with a certificate it
# makes with openssl: both tools must be on the machine.
[ -x /usr/sbin/nats-server ] || { echo "nats-server is missing (apt-get install nats-server)" >&2; exit 1; }
if ! command -v openssl >/dev/null; then
    echo "openssl is missing: installing it"
    apt-get install -y -q openssl >/dev/null
fi
command -v openssl >/dev/null || { echo "openssl is missing (apt-get install openssl)" >&2; exit 1; }
