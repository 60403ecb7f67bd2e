"""The error a `Trainer` raises when the loss stops being finite."""


class NonFiniteLossError(RuntimeError):
    """Raised when a training step produces a NaN or infinite loss."""


def non_finite_loss_error(value, where, checkpoint):
    """The `NonFiniteLossError` for a loss `value` seen at `where`.

    When `checkpoint` (a `TrainingCheckpoint` or None) holds a checkpoint, it
    is restored into the model first, and the message says so.
    """
    if checkpoint is not None and checkpoint.latest is not None:
        path = checkpoint.latest
        checkpoint.restore_latest()
        kept = (
            f"The last good checkpoint {path} was kept and restored into "
            "the model; fix the cause and call fit again to resume from it."
        )
    else:
        kept = (
            "No checkpoint was written yet (pass checkpoint_dir= and "
            "checkpoint_every= to keep good states); the model's weights "
            "are those after the failing step."
        )
    return NonFiniteLossError(
        f"The training loss (or its gradient) became {value} at {where}. Common causes: a "
        "learning rate too high, log/division of zero in the loss, or "
        f"non-finite values in the data. {kept}"
    )
