# A Python virtual environment for the test receivers (moto, the OTLP
# receiver), outside the clone; each service file pip-installs what it needs.
FAPILOG_TEST_VENV="${FAPILOG_TEST_VENV:-$HOME/.cache/fapilog-venv}"
if [ ! -x "$FAPILOG_TEST_VENV/bin/python" ]; then
    python3 -m venv "$FAPILOG_TEST_VENV"
fi
export FAPILOG_TEST_PYTHON="$FAPILOG_TEST_VENV/bin/python"

# pip_need MODULE PACKAGE...: installs the packages unless MODULE imports.
pip_need() {
    local module="$1"
    shift
    if ! "$FAPILOG_TEST_PYTHON" -c "import $module" 2>/dev/null; then
        "$FAPILOG_TEST_PYTHON" -m pip install --quiet --disable-pip-version-check "$@"
    fi
}
