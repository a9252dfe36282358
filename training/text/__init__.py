"""Event (text) classification: load labelled reports, cross-validate, export ONNX, check parity, register."""
