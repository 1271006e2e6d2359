"""RECORDER, not run by the tests: writes fapilog-0.18.1-names.tsv.

Lists every FAPILOG_* variable fapilog 0.18.1 reads (the nested Settings
fields, walked from the installed package, plus the alias families and the
variables read outside Settings, as listed in
shared/reference/fapilog-surface.md), each with two values that fapilog
itself accepts (checked here by loading fapilog's own Settings with it).
The second value is "-" where only one value makes sense to compare.

    python3 -m venv /tmp/fapilog-py && /tmp/fapilog-py/bin/pip install fapilog==0.18.1
    /tmp/fapilog-py/bin/python extract_names.py > fapilog-0.18.1-names.tsv
"""
import json
import os
import typing

from pydantic import BaseModel
from fapilog.core.settings import Settings


def leaves(model, prefix):
    for name, f in model.model_fields.items():
        ann = f.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from leaves(ann, prefix + [name])
        else:
            d = f.default if f.default_factory is None else f.default_factory()
            yield prefix + [name], ann, d


def render(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, dict)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


# Values where the default is not a good sample or a second one is needed.
SAMPLES = {
    "core.log_level": ("INFO", "WARNING"),
    "core.protected_levels": ('["ERROR","CRITICAL","FATAL","AUDIT","SECURITY"]', '["ERROR"]'),
    "core.sinks": ('["stdout_json"]', '["stdout_pretty"]'),
    "core.enrichers": ('["runtime_info","context_vars"]', '["runtime_info"]'),
    "core.redactors": ('["url_credentials"]', '["field_mask","url_credentials"]'),
    "core.processors": ("[]", '["size_guard"]'),
    "core.filters": ("[]", '["level"]'),
    "core.sink_circuit_breaker_fallback_sink": ("rotating_file", "stdout_json"),
    "core.fallback_raw_max_bytes": ("1000", "2000"),
    "core.benchmark_file_path": ("/tmp/bench.json", "/tmp/other.json"),
    "core.protected_queue_size": ("100", "200"),
    "core.default_bound_context": ('{"tenant":"acme"}', "{}"),
    "sink_routing.rules": ("[]", "-"),
    "sink_routing.fallback_sinks": ("[]", "-"),
    "sink_routing.enabled": ("false", "-"),
    "observability.logging.sampling_rate": ("1.0", "-"),
    "core.exceptions_enabled": ("true", "-"),
    "core.context_binding_enabled": ("true", "-"),
    "core.enable_redactors": ("true", "-"),
    "schema_version": ("1.0", "-"),
    "filter_config.level": ('{"min_level":"WARNING"}', "{}"),
    "filter_config.sampling": ('{"sample_rate":0.5}', "{}"),
    "filter_config.rate_limit": ('{"capacity":20}', "{}"),
    "filter_config.adaptive_sampling": ('{"target_eps":50}', "{}"),
    "filter_config.trace_sampling": ('{"sample_rate":0.5}', "{}"),
    "filter_config.first_occurrence": ('{"window_seconds":30}', "{}"),
    "enricher_config.runtime_info": ("{}", "-"),
    "enricher_config.context_vars": ("{}", "-"),
    "processor_config.zero_copy": ("{}", "-"),
    "http.headers_json": ('{"X-A":"1"}', '{"X-A":"2"}'),
    "sink_config.http.headers_json": ('{"X-A":"1"}', '{"X-A":"2"}'),
    "sink_config.extra": ("{}", '{"k":{"a":1}}'),
    "enricher_config.extra": ("{}", '{"k":{"a":1}}'),
    "redactor_config.extra": ("{}", '{"k":{"a":1}}'),
    "filter_config.extra": ("{}", '{"k":{"a":1}}'),
    "processor_config.extra": ("{}", '{"k":{"a":1}}'),
    "adaptive.escalate_to_elevated": ("0.6", "0.65"),
    "adaptive.escalate_to_high": ("0.8", "0.85"),
    "adaptive.escalate_to_critical": ("0.92", "0.95"),
    "adaptive.deescalate_from_critical": ("0.75", "0.7"),
    "adaptive.deescalate_from_high": ("0.6", "0.55"),
    "adaptive.deescalate_from_elevated": ("0.4", "0.35"),
    "adaptive.protected_shed_threshold": ("0.7", "0.8"),
    "adaptive.protected_recover_threshold": ("0.3", "0.2"),
}


def pick(path, ann, d):
    if path in SAMPLES:
        return SAMPLES[path]
    args = typing.get_args(ann)
    lit = [a for a in args if isinstance(a, str)] if typing.get_origin(ann) is typing.Literal else []
    if ann is bool:
        return render(d), render(not d)
    if ann is int:
        return render(d), render(d + 1)
    if ann is float:
        return render(d), render(d / 2 if d else 1.0)
    if lit:
        other = [x for x in lit if x != d]
        return render(d), (other[0] if other else "-")
    if d is None:
        inner = [a for a in args if a is not type(None)]
        t = inner[0] if inner else str
        if t is int:
            return "1", "2"
        if t is float:
            return "1.5", "2.5"
        if typing.get_origin(t) is typing.Literal:
            vals = typing.get_args(t)
            return vals[0], (vals[1] if len(vals) > 1 else "-")
        return "a", "b"
    if isinstance(d, list):
        return render(d), '["x"]'
    if isinstance(d, dict):
        return render(d), '{"k":"v"}'
    if isinstance(d, str):
        return d, d + "-2"
    return render(d), "-"


def python_accepts(name, value):
    old = dict(os.environ)
    try:
        os.environ[name] = value
        Settings()
        return True
    except Exception as e:  # noqa: BLE001
        return repr(e)
    finally:
        os.environ.clear()
        os.environ.update(old)


FAILED = []
rows = []
for path, ann, d in leaves(Settings, []):
    name = "FAPILOG_" + "__".join(path).upper()
    a, b = pick(".".join(path), ann, d)
    for v in (a, b):
        if v != "-":
            ok = python_accepts(name, v)
            if ok is not True:
                FAILED.append((name, v, ok.splitlines()[:3]))
    rows.append((name, a, b))

# Read outside the nested model (fapilog/core/settings.py alias validators,
# config_builders.py, runtime_info, fastapi/builder.py, plugin_config.py).
ALIASES = {
    "LOKI": "URL TENANT_ID AUTH_USERNAME AUTH_PASSWORD AUTH_TOKEN TIMEOUT_SECONDS BATCH_SIZE BATCH_TIMEOUT_SECONDS MAX_RETRIES RETRY_BASE_DELAY CIRCUIT_BREAKER_ENABLED CIRCUIT_BREAKER_THRESHOLD LABELS LABEL_KEYS",
    "CLOUDWATCH": "LOG_GROUP_NAME LOG_STREAM_NAME REGION ENDPOINT_URL BATCH_SIZE BATCH_TIMEOUT_SECONDS MAX_RETRIES RETRY_BASE_DELAY CREATE_LOG_GROUP CREATE_LOG_STREAM CIRCUIT_BREAKER_ENABLED CIRCUIT_BREAKER_THRESHOLD",
    "POSTGRES": "DSN HOST PORT DATABASE USER PASSWORD TABLE_NAME SCHEMA_NAME MIN_POOL_SIZE MAX_POOL_SIZE POOL_ACQUIRE_TIMEOUT BATCH_SIZE BATCH_TIMEOUT_SECONDS MAX_RETRIES RETRY_BASE_DELAY CIRCUIT_BREAKER_ENABLED CIRCUIT_BREAKER_THRESHOLD CREATE_TABLE USE_JSONB INCLUDE_RAW_JSON EXTRACT_FIELDS",
    "SIZE_GUARD": "ACTION MAX_BYTES PRESERVE_FIELDS",
    "FILE": "DIRECTORY MAX_BYTES MAX_FILES COMPRESS_ROTATED FILENAME_PREFIX MODE INTERVAL_SECONDS MAX_TOTAL_BYTES",
    "FASTAPI": "SKIP_PATHS INCLUDE_HEADERS SAMPLE_RATE LOG_ERRORS_ON_SKIP",
}
ALIAS_SAMPLES = {
    "URL": ("http://localhost:3100", "http://loki:3100"), "TENANT_ID": ("t1", "t2"),
    "LABELS": ('{"service":"api"}', '{"service":"web"}'), "LABEL_KEYS": ('["level"]', '["level","logger"]'),
    "LOG_GROUP_NAME": ("/fapilog/default", "/app"), "LOG_STREAM_NAME": ("s1", "s2"), "REGION": ("eu-west-1", "us-east-1"),
    "ENDPOINT_URL": ("http://localhost:4566", "http://aws:4566"), "DSN": ("postgresql://localhost/test", "postgresql://db/test"),
    "HOST": ("localhost", "db"), "PORT": ("5432", "5433"), "DATABASE": ("fapilog", "logs"), "USER": ("fapilog", "app"),
    "PASSWORD": ("pw1", "pw2"), "AUTH_PASSWORD": ("pw1", "pw2"), "AUTH_USERNAME": ("u1", "u2"), "AUTH_TOKEN": ("t1", "t2"),
    "TABLE_NAME": ("logs", "events"), "SCHEMA_NAME": ("public", "audit"), "MIN_POOL_SIZE": ("2", "3"), "MAX_POOL_SIZE": ("10", "20"),
    "POOL_ACQUIRE_TIMEOUT": ("10.0", "5.0"), "BATCH_SIZE": ("100", "50"), "BATCH_TIMEOUT_SECONDS": ("5.0", "2.5"),
    "TIMEOUT_SECONDS": ("10.0", "5.0"), "MAX_RETRIES": ("3", "4"), "RETRY_BASE_DELAY": ("0.5", "1.0"),
    "CIRCUIT_BREAKER_ENABLED": ("true", "false"), "CIRCUIT_BREAKER_THRESHOLD": ("5", "6"),
    "CREATE_LOG_GROUP": ("true", "false"), "CREATE_LOG_STREAM": ("true", "false"), "CREATE_TABLE": ("true", "false"),
    "USE_JSONB": ("true", "false"), "INCLUDE_RAW_JSON": ("true", "false"),
    "EXTRACT_FIELDS": ('["timestamp","level"]', '["level"]'),
    "ACTION": ("truncate", "drop"), "MAX_BYTES": ("256000", "1000"), "PRESERVE_FIELDS": ('["level"]', '["level","logger"]'),
    "DIRECTORY": ("/tmp/fapilog-logs", "/tmp/fapilog-logs2"), "MAX_FILES": ("10", "0"), "COMPRESS_ROTATED": ("true", "false"),
    "FILENAME_PREFIX": ("fapilog", "app"), "MODE": ("json", "text"), "INTERVAL_SECONDS": ("daily", "3600"),
    "MAX_TOTAL_BYTES": ("0", "1000000"),
    "SKIP_PATHS": ("/health,/metrics", "/health"), "INCLUDE_HEADERS": ("user-agent", "accept"),
    "SAMPLE_RATE": ("1.0", "0.5"), "LOG_ERRORS_ON_SKIP": ("true", "false"),
}
for group, names in ALIASES.items():
    for n in names.split():
        a, b = ALIAS_SAMPLES[n]
        if group == "FILE" and n == "MAX_BYTES":
            a, b = "10485760", "10 MB"
        rows.append((f"FAPILOG_{group}__{n}", a, b))
rows += [
    ("FAPILOG_SERVICE", "api", "web"),
    ("FAPILOG_ENV", "production", "staging"),
    ("FAPILOG_VERSION", "1.2.3", "1.2.4"),
    ("FAPILOG_STRICT_PLUGIN_COMPAT", "false", "true"),
]

assert not FAILED, "\n".join(map(str, FAILED))
print("# FAPILOG_* variables of fapilog 0.18.1, each with two values fapilog accepts ('-' = none).")
print("# Generated by extract_names.py (the recorder; not run by the tests).")
for r in rows:
    print("\t".join(r))
