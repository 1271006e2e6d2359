# moto in server mode, the CloudWatch Logs stand-in: installed into the test
# venv (00-python.sh). Each CloudWatch test starts its own server on a free
# loopback port with `$FAPILOG_TEST_PYTHON -m moto.server`.
pip_need moto.server 'moto[server]'
"$FAPILOG_TEST_PYTHON" -c 'import moto.server, flask' \
    || { echo "moto[server] is not importable from $FAPILOG_TEST_PYTHON" >&2; exit 1; }
