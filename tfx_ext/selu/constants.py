"""SELU's constants (Klambauer et al., 2017), written once.

`keras.activations.selu` uses the same values; modules that rewrite SELU from
elementary ops (for int8 conversion) take them from here.
"""

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
