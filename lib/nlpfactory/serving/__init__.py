"""From model to service: batch prediction over files (predict_file), ONNX export with int8
and its checks (export), the ONNX Runtime predictor (onnx_predictor), the MLflow registry
entry (registry), the KServe manifest (kserve) and the HTTP server (server)."""
