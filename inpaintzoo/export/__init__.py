"""Exporting zoo models for deployment (`inpaintzoo export`) and running the exported files (`load("m.onnx")`).

Constants here are read when the command line is parsed, so this file imports nothing heavy.
"""

#: the oldest opset torch's ONNX exporter writes; also the default
MIN_OPSET = 18
DEFAULT_OPSET = 18
#: `--dtype` choices: the weights' and the computation's type in the file
DTYPE_NAMES = ("float32", "float16")
