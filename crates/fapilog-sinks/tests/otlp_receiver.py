"""An OTLP/HTTP logs receiver for the OTLP sink's tests.

No OpenTelemetry Collector can be installed on this machine, so this
receiver decodes what the sink sends with the official generated classes
(PyPI `opentelemetry-proto`, installed by scripts/test-services/20-otlp.sh).

    otlp_receiver.py PORT OUT_FILE [SCRIPT_JSON]

Each POST /v1/logs appends one JSON line to OUT_FILE: the answer's status,
the request's headers, the size of the decompressed body, a digest of the
bytes as received, and every decoded record (time, severity, body,
attributes, trace/span ids in hex, its resource's attributes and scope).
SCRIPT_JSON is a list of answers given in turn, then 200 with an empty
ExportLogsServiceResponse: {"status": 429, "retry_after": "2"},
{"status": 503}, {"status": 400, "body": "bad"},
{"partial": 3, "message": "why"}, {"hang": 5} (answers 200 only after
5 s; recorded with status 0).
"""

import base64
import gzip
import hashlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2

LOCK = threading.Lock()


def value(v):
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: value(kv.value) for kv in v.kvlist_value.values}
    if kind == "bytes_value":
        return v.bytes_value.hex()
    if kind == "double_value":
        return {"double": v.double_value}
    return getattr(v, kind)


def attributes(kvs):
    return {kv.key: value(kv.value) for kv in kvs}


def from_otlp_json(data):
    """OTLP/JSON → the request, with the official JSON parser once the
    hex ids OTLP/JSON uses are turned into proto3 JSON's base64."""
    doc = json.loads(data)
    for rl in doc.get("resourceLogs", []):
        for sl in rl.get("scopeLogs", []):
            for r in sl.get("logRecords", []):
                for k in ("traceId", "spanId"):
                    if k in r:
                        r[k] = base64.b64encode(bytes.fromhex(r[k])).decode()
    req = logs_service_pb2.ExportLogsServiceRequest()
    json_format.ParseDict(doc, req)
    return req


def records(req):
    out = []
    for rl in req.resource_logs:
        res = attributes(rl.resource.attributes)
        for sl in rl.scope_logs:
            for r in sl.log_records:
                out.append({
                    "resource": res,
                    "scope": sl.scope.name,
                    "scope_version": sl.scope.version,
                    "time_unix_nano": r.time_unix_nano,
                    "observed_time_unix_nano": r.observed_time_unix_nano,
                    "severity_number": r.severity_number,
                    "severity_text": r.severity_text,
                    "body": value(r.body),
                    "attributes": attributes(r.attributes),
                    "trace_id": r.trace_id.hex(),
                    "span_id": r.span_id.hex(),
                })
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        entry = {
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "sha256": hashlib.sha256(raw).hexdigest(),
        }
        status, body, headers = 200, None, []
        try:
            data = raw
            if self.headers.get("Content-Encoding") == "gzip":
                data = gzip.decompress(raw)
            entry["raw_len"] = len(data)
            kind = self.headers.get("Content-Type")
            if kind == "application/x-protobuf":
                req = logs_service_pb2.ExportLogsServiceRequest()
                req.ParseFromString(data)
            elif kind == "application/json":
                req = from_otlp_json(data)
            else:
                raise ValueError("unsupported content type")
            entry["records"] = records(req)
        except Exception as e:  # a malformed request is a 400, as a collector answers
            status, body = 400, str(e).encode()
        json_answer = self.headers.get("Content-Type") == "application/json"
        hang = 0
        with LOCK:
            if status == 200 and SCRIPT:
                step = SCRIPT.pop(0)
                if "hang" in step:
                    hang = step["hang"]
                    status = 0
                elif "partial" in step:
                    resp = logs_service_pb2.ExportLogsServiceResponse()
                    resp.partial_success.rejected_log_records = step["partial"]
                    resp.partial_success.error_message = step.get("message", "")
                    if json_answer:
                        body = json_format.MessageToJson(resp).encode()
                    else:
                        body = resp.SerializeToString()
                else:
                    status = step["status"]
                    body = step.get("body", "").encode()
                    if "retry_after" in step:
                        headers.append(("Retry-After", step["retry_after"]))
            if body is None:
                body = b"{}" if json_answer else b""
            entry["status"] = status
            with open(OUT, "a") as f:
                f.write(json.dumps(entry) + "\n")
        if hang:
            time.sleep(hang)
            status = 200
        kind = "application/json" if json_answer else "application/x-protobuf"
        self.answer(status, body, [("Content-Type", kind)] + headers)


if __name__ == "__main__":  # otlp_grpc_receiver.py imports the decoding above
    PORT = int(sys.argv[1])
    OUT = sys.argv[2]
    SCRIPT = json.loads(sys.argv[3]) if len(sys.argv) > 3 else []
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    print("ready", flush=True)
    server.serve_forever()
