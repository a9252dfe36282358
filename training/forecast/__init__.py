"""Forecasting of hourly city indicators: load a series, rolling-origin evaluation, export ONNX, check parity,
register."""
