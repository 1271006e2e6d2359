"""An OTLP/gRPC logs receiver for the OTLP sink's gRPC tests.

A grpcio server (PyPI `grpcio`) implementing the official generated
`LogsServiceServicer` (PyPI `opentelemetry-proto`), so each request is
decoded by the official classes; error details use the official
`google.rpc` classes (PyPI `googleapis-common-protos`). All are installed
by scripts/test-services/20-otlp.sh.

    otlp_grpc_receiver.py PORT OUT_FILE [SCRIPT_JSON]

Each Export call appends one JSON line to OUT_FILE, as otlp_receiver.py
does: the answer's status (200 for OK, else the gRPC code's name), the
call's metadata, the size of the message and every decoded record.
SCRIPT_JSON is a list of answers given in turn, then OK with an empty
ExportLogsServiceResponse: {"code": "UNAVAILABLE"},
{"code": "RESOURCE_EXHAUSTED", "retry_delay": 2} (with RetryInfo),
{"code": "INVALID_ARGUMENT", "message": "bad"},
{"partial": 3, "message": "why"}.
"""

import json
import os
import sys
import threading
from concurrent import futures

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from otlp_receiver import records  # noqa: E402  (the same decoding as the HTTP receiver)

PORT = int(sys.argv[1])
OUT = sys.argv[2]
SCRIPT = json.loads(sys.argv[3]) if len(sys.argv) > 3 else []
LOCK = threading.Lock()


class Logs(logs_service_pb2_grpc.LogsServiceServicer):
    def Export(self, request, context):
        entry = {
            "path": "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
            "headers": {k: v for k, v in context.invocation_metadata() if not k.endswith("-bin")},
            "raw_len": request.ByteSize(),
            "records": records(request),
        }
        resp = logs_service_pb2.ExportLogsServiceResponse()
        step = {}
        with LOCK:
            if SCRIPT:
                step = SCRIPT.pop(0)
            entry["status"] = step.get("code", 200)
            with open(OUT, "a") as f:
                f.write(json.dumps(entry) + "\n")
        if "partial" in step:
            resp.partial_success.rejected_log_records = step["partial"]
            resp.partial_success.error_message = step.get("message", "")
            return resp
        if "code" in step:
            code = getattr(grpc.StatusCode, step["code"])
            message = step.get("message", step["code"].lower())
            if "retry_delay" in step:
                info = error_details_pb2.RetryInfo(
                    retry_delay=duration_pb2.Duration(seconds=step["retry_delay"]))
                detail = any_pb2.Any()
                detail.Pack(info)
                status = status_pb2.Status(code=code.value[0], message=message, details=[detail])
                context.set_trailing_metadata(
                    (("grpc-status-details-bin", status.SerializeToString()),))
            context.abort(code, message)
        return resp


server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
logs_service_pb2_grpc.add_LogsServiceServicer_to_server(Logs(), server)
server.add_insecure_port(f"127.0.0.1:{PORT}")
server.start()
print("ready", flush=True)
server.wait_for_termination()
