# NATS with JetStream on 127.0.0.1:4222: started by the machine; started
# here when it is down.
nats_up() { (exec 3<>/dev/tcp/127.0.0.1/4222 && head -c 4 <&3 | grep -q INFO) 2>/dev/null; }
if ! nats_up; then
    echo "NATS is down: starting it"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
        -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
    for _ in $(seq 50); do nats_up && break; sleep 0.2; done
fi
nats_up || { echo "NATS does not answer on 127.0.0.1:4222" >&2; exit 1; }
export FAPILOG_TEST_NATS="${FAPILOG_TEST_NATS:-nats://127.0.0.1:4222}"
