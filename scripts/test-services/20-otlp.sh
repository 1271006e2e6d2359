# The OTLP sink's test receiver: Python's official generated classes
# (PyPI `opentelemetry-proto`) decode what the sink sends. No OpenTelemetry
# Collector can be installed on this machine (no Debian, PyPI or npm
# package ships one with an OTLP receiver), so the tests start
# crates/fapilog-sinks/tests/otlp_receiver.py with this interpreter.
pip_need opentelemetry.proto.collector.logs.v1 opentelemetry-proto protobuf
pip_need grpc grpcio
pip_need google.rpc.error_details_pb2 googleapis-common-protos
"$FAPILOG_TEST_PYTHON" -c "from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc; import grpc, google.rpc.error_details_pb2" \
    || { echo "the OTLP receiver's modules do not import" >&2; exit 1; }
