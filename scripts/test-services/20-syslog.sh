# rsyslog for the syslog sink's tests: each test starts its own rsyslogd on
# free loopback ports (`rsyslogd -n -f <conf> -i <pidfile>`), so nothing is
# started here; this only installs it (and the openssl CLI the TLS test uses
# to make a throw-away certificate) when missing, and says where it is.
if ! [ -x /usr/sbin/rsyslogd ] || ! ls /usr/lib/*/rsyslog/lmnsd_ossl.so >/dev/null 2>&1 \
    || ! command -v openssl >/dev/null; then
    echo "rsyslog is missing: installing it"
    syslog_pkgs="rsyslog rsyslog-openssl openssl"
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $syslog_pkgs \
        || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $syslog_pkgs; }
fi
[ -x /usr/sbin/rsyslogd ] || { echo "rsyslogd is not installed at /usr/sbin/rsyslogd" >&2; exit 1; }
command -v openssl >/dev/null || { echo "the openssl CLI is not installed" >&2; exit 1; }
export FAPILOG_TEST_RSYSLOGD="${FAPILOG_TEST_RSYSLOGD:-/usr/sbin/rsyslogd}"
