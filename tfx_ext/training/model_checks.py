"""What `Trainer` needs of a model, checked before anything is traced."""

from tfx_ext._core.arguments import invalid


def check_model_structure(model):
    """Raises unless `model` is built (its variables exist) and has one output."""
    if not model.built:
        raise invalid(
            "model",
            "a built model (call it on data, or give it an Input) so its "
            "variables exist before training",
            model,
        )
    if len(getattr(model, "outputs", None) or []) > 1:
        raise invalid(
            "model",
            "a single-output model (combine several outputs' losses in one "
            "loss function over a single concatenated output)",
            model.name,
        )


def check_variables_in_scope(model, strategy):
    """Raises unless every variable of `model` was created under `strategy.scope()`."""
    outside = [
        v.path for v in model.variables if not strategy.extended.variable_created_in_scope(v.value)
    ]
    if outside:
        raise invalid(
            "model",
            "a model whose variables were created under `strategy.scope()` "
            f"(these were not: {', '.join(outside[:5])}{' ...' if len(outside) > 5 else ''})",
            model.name,
        )
