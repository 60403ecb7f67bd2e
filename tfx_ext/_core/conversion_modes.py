"""The TFLite conversion modes and engines: `lite.convert` accepts them, the CLI offers them.

Here, not in `tfx_ext.lite`, so that `tfx-ext --help` lists them without
importing TensorFlow.
"""

MODES = ("float32", "float16", "dynamic_range", "int8", "int16x8")
ENGINES = ("converter", "litert_quantizer")
INTEGER_MODES = ("int8", "int16x8")
