"""The weighted-loss trainer: ``transformers.Trainer`` plus one loss (docs/method.md, Stage 2, decided).

Loss of an optimizer step = sum(w * token NLL) / sum(w), both sums over every micro-batch of the step
on every data-parallel rank.  Trainer already collects the micro-batches of a step before running them
(``get_batch_samples``) and hands the count it makes of them to ``compute_loss`` as
``num_items_in_batch``; we make that count the global sum of weights.  Each micro-batch then
contributes ``sum(w * NLL) / W_global``; the gradients of the micro-batches add up, and data-parallel
backends (DDP, DeepSpeed, FSDP) average over ranks, which the factor ``num_processes`` undoes.  Batch
size, accumulation and the number of ranks therefore leave the gradient unchanged.

``pkt: false`` runs the same code with weight 1 on every trained token: standard SFT.
"""

from __future__ import annotations

import inspect

import torch
import torch.nn.functional as F
from transformers import Trainer


def _accepts_logits_to_keep(model) -> bool:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "logits_to_keep" in inspect.signature(base.forward).parameters


def weighted_nll_sum(model, inputs: dict, use_logits_to_keep: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """(sum of w * NLL, sum of w) of one batch with ``labels`` and ``loss_weights`` (weights index labels).

    Only positions that predict a weighted token in some row go through the LM head (``logits_to_keep``
    with a position tensor), so the vocabulary-sized logits of prompts and tool outputs are never built.
    """
    weights = inputs["loss_weights"][:, 1:]
    labels = inputs["labels"][:, 1:]
    # Position p predicts token p + 1: keep the positions whose next token carries weight in some row.
    positions = weights.gt(0).any(dim=0).nonzero().squeeze(1)
    if positions.numel() == 0:  # keep the graph connected (every rank must run backward)
        positions = torch.zeros(1, dtype=torch.long, device=weights.device)
    forward = {k: v for k, v in inputs.items() if k not in ("labels", "loss_weights")}
    if use_logits_to_keep:
        logits = model(**forward, logits_to_keep=positions, use_cache=False).logits
    else:
        logits = model(**forward, use_cache=False).logits[:, positions]
    nll = F.cross_entropy(
        logits.float().flatten(0, 1), labels[:, positions].flatten(), ignore_index=-100, reduction="none"
    )
    w = weights[:, positions].flatten()
    return (nll * w).sum(), weights.sum()


class PKTTrainer(Trainer):
    """A ``Trainer`` whose batches carry ``loss_weights`` (see ``data.WeightedCollator``)."""

    # Our compute_loss already divides by the weight of the whole optimizer step.
    loss_is_scaled_for_ga = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.args.n_gpu > 1:
            raise ValueError(
                "several GPUs in one process (torch.nn.DataParallel) are not supported: "
                "launch one process per GPU with `accelerate launch` or `torchrun`"
            )
        self._use_logits_to_keep = _accepts_logits_to_keep(self.model)

    def _get_collator_with_removed_columns(self, data_collator, description=None):
        # loss_weights is not a forward() argument; Trainer would drop it.
        return data_collator

    def _get_num_items_in_batch(self, batch_samples: list, device: torch.device) -> torch.Tensor | None:
        """The sum of the loss weights of the optimizer step, over all ranks (a float, not a token count)."""
        if not batch_samples or "loss_weights" not in batch_samples[0]:
            return None
        total = sum(batch["loss_weights"][:, 1:].sum() for batch in batch_samples).to(device=device, dtype=torch.float32)
        if self.args.world_size > 1:
            total = self.accelerator.gather(total.reshape(1)).sum()
        return total

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        weighted, local_weight = weighted_nll_sum(model, inputs, self._use_logits_to_keep)
        if num_items_in_batch is None:  # no step-wide count (a lone batch): normalise by its own weight
            loss = weighted / local_weight.clamp(min=1e-8)
        else:
            # DDP / DeepSpeed / FSDP average gradients over ranks; the denominator is already global.
            loss = weighted / num_items_in_batch.clamp(min=1e-8) * self.accelerator.num_processes
        return (loss, None) if return_outputs else loss
