"""Self-normalizing networks ("Hands-On ML" ch. 11; Klambauer et al., 2017).

A stack of dense SELU layers keeps its activations at mean 0 and std 1 —
but only under conditions: a plain sequential stack, LeCun normal
initialization, standardized inputs, and no BatchNormalization, ordinary
dropout, l1/l2 regularization or skip connections (AlphaDropout is fine).
`self_normalizing_mlp` builds such a net (`builder`); `check_self_normalizing`
checks a model against every condition (`checker`); `activation_statistics`
shows whether the normalization holds, layer by layer (`statistics`), and
`plot_activation_statistics` draws it (`plot`). This module keeps the old
import path of all of them.
"""

# The names, from their modules through the package (which does not import this module).
from tfx_ext.selu import *  # noqa: F403
from tfx_ext.selu import __all__  # noqa: F401
