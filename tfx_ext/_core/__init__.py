"""The ground floor: each decision two rooms need, made once, in a module named for it.

- `arguments`: argument checks and Keras's error wording.
- `model_graphs`: walking layers, the graph-model check, the kernel-layer table, cloning.
- `predictions`: label format, rank alignment, static shapes, classifiers and probabilities.
- `protocols`: the documented contracts between rooms (MC layers, unwrapping wrappers,
  prunable layers, the pruning step).
- `files`: files other processes read, written atomically.
- `keras_flavour`: Keras 3 or tf_keras, and tfmot's import.
- `checkpoint_tracking`, `plotting`, `serving_methods`: one rule each.
- `private_api`: every use of private Keras/TF API, with why and the version checked.

Nothing here imports a higher floor. Internal: not part of the public API.
"""
