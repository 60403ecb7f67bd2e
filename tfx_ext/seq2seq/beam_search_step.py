"""One step of beam search, in `keras.ops` (TFA's `_beam_search_step` and its helpers)."""

import collections

import keras
import numpy as np
from keras import ops

from tfx_ext.seq2seq.attention_wrapper_state import AttentionWrapperState


class BeamSearchDecoderState(
    collections.namedtuple(
        "BeamSearchDecoderState",
        ("cell_state", "log_probs", "finished", "lengths", "accumulated_attention_probs"),
    )
):
    """State of the beam search: cell state, beam log-probs, finished flags, lengths, coverage."""


class BeamSearchDecoderOutput(
    collections.namedtuple("BeamSearchDecoderOutput", ("scores", "predicted_ids", "parent_ids"))
):
    """Per-step beam outputs: scores, chosen ids and the beam each came from."""


class FinalBeamSearchDecoderOutput(
    collections.namedtuple(
        "FinalBeamSearchDecoderOutput", ("predicted_ids", "beam_search_decoder_output")
    )
):
    """Final beam outputs: `predicted_ids` back-tracked by `gather_tree`, plus the raw step outputs."""


def length_penalty(sequence_lengths, penalty_factor):
    """GNMT length penalty `((5 + length) / 6) ** penalty_factor` (1.0 when the factor is 0)."""
    if isinstance(penalty_factor, (int, float)) and penalty_factor == 0:
        return 1.0
    lengths = ops.cast(sequence_lengths, "float32")
    return ops.divide((5.0 + lengths) ** penalty_factor, (5.0 + 1.0) ** penalty_factor)


def mask_probs(probs, eos_token, finished):
    """Finished beams put all their probability on `eos_token` (log 0 there, dtype-min elsewhere)."""
    probs = ops.convert_to_tensor(probs)
    vocab_size = ops.shape(probs)[2]
    lowest = np.finfo(keras.backend.standardize_dtype(probs.dtype)).min
    eos = ops.one_hot(ops.cast(eos_token, "int32"), vocab_size, dtype=probs.dtype)
    finished_row = ops.where(eos > 0, ops.zeros_like(eos), ops.full_like(eos, lowest))
    finished = ops.convert_to_tensor(finished)
    return ops.where(finished[:, :, None], finished_row[None, None, :], probs)


def attention_probs_from_attn_state(attention_state):
    """The alignments of an `AttentionWrapperState`, averaged over its mechanisms."""
    probs = attention_state.alignments
    if isinstance(probs, tuple):
        probs = ops.mean(ops.stack(list(probs), axis=-1), axis=-1)
    return probs


def get_attention_probs(next_cell_state, coverage_penalty_weight):
    """Attention probabilities `[batch, beam, memory_time]` for the coverage penalty, or None."""
    if coverage_penalty_weight == 0.0:
        return None
    per_layer = []
    if isinstance(next_cell_state, AttentionWrapperState):
        per_layer = [attention_probs_from_attn_state(next_cell_state)]
    elif isinstance(next_cell_state, (tuple, list)):
        per_layer = [
            attention_probs_from_attn_state(s)
            for s in next_cell_state
            if isinstance(s, AttentionWrapperState)
        ]
    if not per_layer:
        raise ValueError("coverage_penalty_weight must be 0.0 if no cell is attentional.")
    if len(per_layer) == 1:
        return per_layer[0]
    return ops.mean(ops.stack(per_layer, axis=-1), axis=-1)


def get_scores(
    log_probs,
    sequence_lengths,
    length_penalty_weight,
    coverage_penalty_weight,
    finished,
    accumulated_attention_probs,
):
    """Beam scores: log-probs divided by the length penalty, plus the weighted coverage penalty."""
    penalty = length_penalty(sequence_lengths, length_penalty_weight)
    if not isinstance(penalty, float):
        penalty = ops.cast(penalty, log_probs.dtype)
    scores = log_probs / penalty
    if coverage_penalty_weight == 0.0:
        return scores
    if accumulated_attention_probs is None:
        raise ValueError(
            "accumulated_attention_probs can be None only if coverage penalty is disabled."
        )
    probs = ops.where(ops.equal(accumulated_attention_probs, 0.0), 1.0, accumulated_attention_probs)
    coverage = ops.sum(ops.log(ops.minimum(probs, 1.0)), axis=2)
    # GNMT applies the coverage penalty to finished hypotheses only.
    coverage = coverage * ops.cast(finished, coverage.dtype)
    return scores + (coverage * coverage_penalty_weight)[:, :, None]


def gather_beams(values, beam_indices):
    """Picks, for each batch entry, the rows `beam_indices` along axis 1 (any rank >= 2)."""
    indices = beam_indices
    for _ in range(len(values.shape) - 2):
        indices = indices[..., None]
    if len(values.shape) > 2:
        indices = ops.broadcast_to(indices, ops.shape(beam_indices) + tuple(ops.shape(values)[2:]))
    return ops.take_along_axis(values, indices, axis=1)


def beam_search_step(
    time,
    logits,
    next_cell_state,
    beam_state,
    batch_size,
    beam_width,
    end_token,
    length_penalty_weight,
    coverage_penalty_weight,
    output_all_scores,
    gather_state=None,
):
    """Performs a single step of beam search decoding.

    Args:
        time: The step (unused by the math; kept for TFA's signature).
        logits: `[batch, beam, vocab]`.
        next_cell_state: The cell state after this step, `[batch, beam, ...]`.
        beam_state: The current `BeamSearchDecoderState`.
        batch_size, beam_width, end_token: The search's sizes and end id.
        length_penalty_weight, coverage_penalty_weight: Score penalties.
        output_all_scores: Output `[batch, beam, vocab]` scores, not the top ones.
        gather_state: Optional function `(state, parent_ids) -> state`
            reordering the cell state; by default every tensor of rank >= 2
            is gathered along the beam axis.

    Returns:
        `(BeamSearchDecoderOutput, BeamSearchDecoderState)`.
    """
    del time, batch_size
    prediction_lengths = beam_state.lengths
    previously_finished = ops.convert_to_tensor(beam_state.finished)
    not_finished = ops.logical_not(previously_finished)

    step_log_probs = ops.log_softmax(logits, axis=-1)
    step_log_probs = mask_probs(step_log_probs, end_token, previously_finished)
    total_probs = ops.expand_dims(beam_state.log_probs, 2) + step_log_probs

    vocab_size = logits.shape[-1] or ops.shape(logits)[-1]
    length_dtype = prediction_lengths.dtype
    not_eos = ops.cast(
        ops.not_equal(ops.arange(vocab_size, dtype="int32"), ops.cast(end_token, "int32")),
        length_dtype,
    )
    lengths_to_add = not_eos[None, None, :] * ops.cast(not_finished, length_dtype)[:, :, None]
    new_prediction_lengths = lengths_to_add + ops.expand_dims(prediction_lengths, 2)

    accumulated_attention_probs = None
    attention_probs = get_attention_probs(next_cell_state, coverage_penalty_weight)
    if attention_probs is not None:
        attention_probs = (
            attention_probs * ops.cast(not_finished, attention_probs.dtype)[:, :, None]
        )
        accumulated_attention_probs = beam_state.accumulated_attention_probs + attention_probs

    scores = get_scores(
        log_probs=total_probs,
        sequence_lengths=new_prediction_lengths,
        length_penalty_weight=length_penalty_weight,
        coverage_penalty_weight=coverage_penalty_weight,
        finished=previously_finished,
        accumulated_attention_probs=accumulated_attention_probs,
    )
    scores_flat = ops.reshape(scores, (-1, beam_width * vocab_size))
    next_beam_scores, word_indices = ops.top_k(scores_flat, k=beam_width)
    word_indices = ops.cast(word_indices, "int32")
    next_beam_probs = ops.take_along_axis(
        ops.reshape(total_probs, (-1, beam_width * vocab_size)), word_indices, axis=1
    )
    next_word_ids = ops.mod(word_indices, vocab_size)
    next_beam_ids = ops.floor_divide(word_indices, vocab_size)

    previously_finished = gather_beams(previously_finished, next_beam_ids)
    next_finished = ops.logical_or(
        previously_finished, ops.equal(next_word_ids, ops.cast(end_token, "int32"))
    )
    next_prediction_len = gather_beams(beam_state.lengths, next_beam_ids) + ops.cast(
        ops.logical_not(previously_finished), length_dtype
    )
    next_accumulated_attention_probs = ()
    if accumulated_attention_probs is not None:
        next_accumulated_attention_probs = gather_beams(accumulated_attention_probs, next_beam_ids)
    if gather_state is None:
        from keras import tree

        next_cell_state = tree.map_structure(
            lambda t: (
                gather_beams(t, next_beam_ids) if ops.is_tensor(t) and len(t.shape) >= 2 else t
            ),
            next_cell_state,
        )
    else:
        next_cell_state = gather_state(next_cell_state, next_beam_ids)

    next_state = BeamSearchDecoderState(
        cell_state=next_cell_state,
        log_probs=next_beam_probs,
        lengths=next_prediction_len,
        finished=next_finished,
        accumulated_attention_probs=next_accumulated_attention_probs,
    )
    output = BeamSearchDecoderOutput(
        scores=scores if output_all_scores else next_beam_scores,
        predicted_ids=next_word_ids,
        parent_ids=next_beam_ids,
    )
    return output, next_state
