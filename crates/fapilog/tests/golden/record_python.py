"""RECORDER, not run by the tests: logs the golden events with Python
fapilog 0.18.1 and writes the lines that tests/envelope_golden.rs compares
the Rust envelopes with.

    python3 -m venv /tmp/fapilog-py && /tmp/fapilog-py/bin/pip install fapilog==0.18.1
    /tmp/fapilog-py/bin/python record_python.py > python-0.18.1.jsonl

Each event is the one envelope_golden.rs logs, in the same order (the
Rust test matches lines by message, since fapilog writes protected levels
first).
"""
import fapilog
from fapilog.core.errors import request_id_var

log = fapilog.get_logger("demo", preset="minimal", format="json")

# 1. A bound request id and a bound non-context field; fields of the call.
log.bind(request_id="req-123", tenant="acme")
log.info("user logged in", user_id="u-42", attempt=2, ratio=0.5, ok=True, note=None)

# 2. Nested data: a nested value, and fapilog's `data={...}` (flattened into data).
log.info(
    "order placed",
    order={"id": 7, "items": [{"sku": "a-1", "qty": 2}], "total": 12.5},
    data={"channel": "web", "trace_id": "t-1"},
)

# 3. An error with its cause.
try:
    try:
        raise ValueError("card declined")
    except ValueError as inner:
        raise RuntimeError("payment failed") from inner
except RuntimeError as e:
    log.error("charge failed", exc=e, order_id=7)

# 4. An error without a cause, at WARNING.
try:
    raise KeyError("sku")
except KeyError as e:
    log.warning("lookup failed", exc=e)

# 5. A request scope: fapilog's correlation id (what its FastAPI middleware sets).
log.unbind("request_id", "tenant")
token = request_id_var.set("corr-9")
log.info("in request", span_id="s-1")
request_id_var.reset(token)

# 6. Nothing bound: correlation_id is null.
log.info("plain")

import asyncio  # noqa: E402

asyncio.run(log.stop_and_drain())
