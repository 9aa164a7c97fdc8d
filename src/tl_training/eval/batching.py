"""How prompts become batches, for generation and the fast path: their order, their widths, and prompt
heads shared by several cases prefilled once.

Orders (``plan``): ``prefix`` (the default) groups prompts that share a head and prefills the head once;
``length`` batches whole prompts, longest first; ``file`` keeps the given order (the baselines).

Widths (``cut_batches``): padding a prompt costs as much as a token of it, so a batch holds prompts of
similar width: its widest is at most twice its shortest plus ``PAD_SLACK`` tokens (a few dozen pad tokens
cost little; one 4,000-token prompt among 1,000-token ones would triple the batch's prefill).

Shared heads: tool-use benchmarks repeat long prompt heads: RoTBench's cases of one scenario share a tool
list of ~900 tokens and differ only in the user's query, ToolAlpaca's cases of one API likewise.  On a
CPU the prefill of those heads is most of an evaluation (BENCHMARKS.md, Evaluation).

- Grouping (``group_by_prefix``): prompts sorted by token ids, so that prompts sharing a head are
  neighbours; a run of neighbours shares the smallest common prefix of its adjacent pairs.  A group saves
  ``(members - 1) * prefix`` prefilled tokens; a run is cut at its weakest links (a radix tree's branch
  points) where its parts together save more than the whole run does.
- Batches (``batch_inputs``): a row is ``[pad][prefix][pad][rest]``.  The cache holds each row's prefix
  right-aligned in its first ``P`` slots (``P`` the longest prefix of the batch) with the padding slots
  masked, and the model runs only the last part.  Positions come from the attention mask (transformers
  counts them over unmasked tokens), so every token sits at the position it has in its unpadded prompt,
  as in plain left-padded batching.
- A conversation (``ConversationStore``): a multi-turn episode's next prompt extends the last one, so the
  last generation's cache is cut back to the tokens both agree on and reused.
- Only caches made entirely of ``DynamicLayer`` (full attention: Llama, Qwen2 without sliding window,
  SmolLM2, CodeLlama ...) take prefixes; other models (sliding windows, linear attention) are batched
  whole (``supports_prefix_cache``).
- The caches built here grow in place (``GrowingLayer``): ``DynamicLayer`` concatenates the whole cache
  at every decoding step, which on a CPU costs more than the step's own compute once a batch holds a few
  long prompts (sixteen 4,000-token RoTBench prompts: about 3 GB copied per generated token).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..generation import positions_from_mask

ORDERS = ("prefix", "length", "file")
PAD_SLACK = 64
# A prefix shorter than this is not worth its own forward pass and the cache assembly.
MIN_SHARED_TOKENS = 32


@dataclass(frozen=True)
class Group:
    prefix_len: int  # tokens prefilled once for every member; 0 for a prompt that shares nothing
    members: tuple[int, ...]  # prompt indices


def group_by_prefix(encoded: list[list[int]], min_shared: int = MIN_SHARED_TOKENS) -> list[Group]:
    """Every prompt index in exactly one group; a shared prefix always leaves each member a token to run."""
    if not encoded:
        return []
    order = sorted(range(len(encoded)), key=lambda i: encoded[i])
    links = [len(os.path.commonprefix([encoded[a], encoded[b]])) for a, b in zip(order, order[1:])]

    # Runs of the sorted order as a tree: a run's children are its parts between its weakest links.  Built
    # top-down with a stack (no recursion: prompts can nest deeper than Python's recursion limit), then
    # settled bottom-up: each node keeps the better of sharing its own prefix or its children's choices.
    nodes: list[tuple[int, int, list[int]]] = []  # (start, end) in `order`, child node ids
    pending = [(0, len(order), None)]
    while pending:
        start, end, parent = pending.pop()
        nodes.append((start, end, []))
        if parent is not None:
            nodes[parent][2].append(len(nodes) - 1)
        if end - start > 1:
            weakest = min(links[start:end - 1])
            cut = start
            for k in range(start, end - 1):
                if links[k] == weakest:
                    pending.append((cut, k + 1, len(nodes) - 1))
                    cut = k + 1
            pending.append((cut, end, len(nodes) - 1))

    best: dict[int, tuple[int, list[Group]]] = {}
    for node in reversed(range(len(nodes))):  # children come after their parent
        start, end, children = nodes[node]
        members = tuple(order[start:end])
        if len(members) == 1:
            best[node] = (0, [Group(0, members)])
            continue
        shared = min(min(links[start:end - 1]), min(len(encoded[i]) for i in members) - 1)
        whole = (len(members) - 1) * shared if shared >= min_shared else 0
        parts = sum(best[c][0] for c in children)
        if whole > 0 and whole >= parts:
            best[node] = (whole, [Group(shared, members)])
        else:
            best[node] = (parts, [g for c in children for g in best[c][1]])
    return best[0][1]


def cut_batches(order: list[int], widths: list[int], batch_size: int) -> list[list[int]]:
    """``order`` cut into consecutive batches of at most ``batch_size``, each of similar ``widths``."""
    batches: list[list[int]] = []
    widest = shortest = 0
    for i in order:
        similar = max(widest, widths[i]) <= 2 * min(shortest, widths[i]) + PAD_SLACK
        if batches and len(batches[-1]) < batch_size and similar:
            batches[-1].append(i)
            widest, shortest = max(widest, widths[i]), min(shortest, widths[i])
        else:
            batches.append([i])
            widest = shortest = widths[i]
    return batches


def length_sorted_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length, longest first (a memory problem shows at once)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return cut_batches(order, lengths, batch_size)


def plan_batches(encoded: list[list[int]], batch_size: int,
                 tails: list[int] | None = None) -> list[list[tuple[int, int]]]:
    """Batches of ``(prompt index, prefix length)``: a group's members together (so few prefixes are held
    at once), longest prefixes first; prompts sharing nothing batched apart, longest first.  A row's width
    is what it runs beyond its cached prefix: the rest of its prompt plus ``tails[i]`` tokens appended
    after it (the fast path's forced completion)."""
    groups = group_by_prefix(encoded)
    prefix_len = {i: g.prefix_len for g in groups for i in g.members}
    widths = [len(encoded[i]) - prefix_len[i] + (tails[i] if tails else 0) for i in range(len(encoded))]
    shared = sorted((g for g in groups if g.prefix_len), key=lambda g: (-g.prefix_len, g.members))
    rows = [i for g in shared for i in sorted(g.members, key=lambda i: (-widths[i], i))]
    alone = sorted((g.members[0] for g in groups if not g.prefix_len), key=lambda i: (-widths[i], i))
    return [[(i, prefix_len[i]) for i in batch]
            for part in (rows, alone) for batch in cut_batches(part, widths, batch_size)]


def plan(model, encoded: list[list[int]], batch_size: int, order: str = "prefix",
         tails: list[int] | None = None) -> list[list[tuple[int, int]]]:
    """The batches of ``encoded`` in ``order`` (``ORDERS``), as ``(index, prefix length)`` rows."""
    if order not in ORDERS:
        raise ValueError(f"order {order!r}: expected one of {ORDERS}")
    if order == "prefix" and supports_prefix_cache(model):
        return plan_batches(encoded, batch_size, tails)
    widths = [len(ids) + (tails[i] if tails else 0) for i, ids in enumerate(encoded)]
    if order == "file":
        batches = [list(range(i, min(i + batch_size, len(encoded)))) for i in range(0, len(encoded), batch_size)]
    else:
        batches = length_sorted_batches(widths, batch_size)
    return [[(i, 0) for i in batch] for batch in batches]


def supports_prefix_cache(model) -> bool:
    """Whether this model's generation cache is plain full attention, which a padded prefix can seed."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    try:
        cache = DynamicCache(config=model.config)
    except Exception:  # a config the cache cannot read: batch whole prompts
        return False
    return bool(cache.layers) and all(type(layer) is DynamicLayer for layer in cache.layers)


def grow(buffer: tuple | None, length: int, keys, values) -> tuple:
    """``(keys, values)`` buffers holding their first ``length`` positions and then ``keys`` / ``values``:
    written in place where there is room, else copied into buffers a quarter larger than needed."""
    needed, shape = length + keys.shape[-2], keys.shape[:2]
    if buffer is None or buffer[0].shape[-2] < needed or buffer[0].shape[:2] != shape:
        capacity = needed + max(128, needed // 4)
        grown = tuple(t.new_empty(*t.shape[:2], capacity, t.shape[-1]) for t in (keys, values))
        if length:
            grown[0][..., :length, :], grown[1][..., :length, :] = buffer[0][..., :length, :], buffer[1][..., :length, :]
        buffer = grown
    buffer[0][..., length:needed, :] = keys
    buffer[1][..., length:needed, :] = values
    return buffer


def _growing_layer_class():
    from transformers.cache_utils import DynamicLayer

    class GrowingLayer(DynamicLayer):
        """A ``DynamicLayer`` that appends into spare capacity (``grow``) instead of concatenating: a
        decoding step writes one position rather than copying the cache.  ``keys`` and ``values`` are views
        of the filled part, so everything that reads or crops them works unchanged; a layer whose tensors
        were replaced (``batch_select_indices``, ``reset``) starts a new buffer."""

        def update(self, key_states, value_states, *args, **kwargs):
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            length, buffer = self.get_seq_length(), getattr(self, "_buffer", None)
            if buffer is not None and length and self.keys.data_ptr() != buffer[0].data_ptr():
                buffer = (self.keys, self.values)  # replaced from outside: grow from what it holds now
            buffer = self._buffer = grow(buffer, length, key_states, value_states)
            length += key_states.shape[-2]
            self.keys, self.values = buffer[0][..., :length, :], buffer[1][..., :length, :]
            return self.keys, self.values

    return GrowingLayer


def growing_cache():
    """An empty cache whose layers are ``GrowingLayer``s, made as they are first filled (full-attention
    models only: those that ``supports_prefix_cache``)."""
    from transformers import DynamicCache

    cache = DynamicCache()
    cache.layer_class_to_replicate = _growing_layer_class()
    return cache


class PrefixStore:
    """Per-layer keys and values of each prefix in use, computed on first use, dropped after last use."""

    def __init__(self, model, encoded: list[list[int]], batches: list[list[tuple[int, int]]]):
        self.model = model
        self.encoded = encoded
        self.uses: dict[tuple[int, ...], int] = {}
        for batch in batches:
            for i, length in batch:
                if length:
                    key = tuple(encoded[i][:length])
                    self.uses[key] = self.uses.get(key, 0) + 1
        self.held: dict[tuple[int, ...], list[tuple]] = {}

    def take(self, index: int, length: int) -> list[tuple]:
        import torch
        from transformers import DynamicCache

        key = tuple(self.encoded[index][:length])
        if key not in self.held:
            cache = DynamicCache(config=self.model.config)
            with torch.no_grad():
                self.model(input_ids=torch.tensor([key], device=self.model.device), cache=cache, use_cache=True)
            self.held[key] = [(layer.keys, layer.values) for layer in cache.layers]
        kv = self.held[key]
        self.uses[key] -= 1
        if not self.uses[key]:
            del self.held[key]
        return kv


class ConversationStore:
    """The keys and values of a conversation's last generation (its prompt and output), for a next prompt
    that extends it: a multi-turn episode re-sends the whole conversation at each step, and only what
    follows the tokens both agree on is run again."""

    def __init__(self):
        self.ids: list[int] = []
        self.kv: list[tuple] | None = None

    def shared(self, ids: list[int], min_shared: int = MIN_SHARED_TOKENS) -> int:
        """How many leading tokens of ``ids`` the held cache can serve (0: too few to bother)."""
        length = min(len(os.path.commonprefix([self.ids, ids])), len(ids) - 1)
        return length if length >= min_shared and self.kv is not None else 0

    def take(self, index: int, length: int) -> list[tuple]:
        return [(keys[..., :length, :], values[..., :length, :]) for keys, values in self.kv]

    def keep(self, ids: list[int], cache) -> None:
        """Hold ``cache``, which covers the first ``cache.get_seq_length()`` tokens of ``ids``."""
        self.ids = ids[:cache.get_seq_length()]
        self.kv = [(layer.keys, layer.values) for layer in cache.layers]


def batch_inputs(encoded: list[list[int]], batch: list[tuple[int, int]], pad_id: int,
                 store: PrefixStore | ConversationStore | None):
    """``input_ids``, ``attention_mask`` and the cache (None where no row has a prefix) of one batch."""
    import torch

    prefix_width = max(length for _, length in batch)
    suffix_width = max(len(encoded[i]) - length for i, length in batch)
    width = prefix_width + suffix_width
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (i, length) in enumerate(batch):
        ids = torch.tensor(encoded[i])
        input_ids[row, prefix_width - length:prefix_width] = ids[:length]
        attention[row, prefix_width - length:prefix_width] = 1
        input_ids[row, width - (len(ids) - length):] = ids[length:]
        attention[row, width - (len(ids) - length):] = 1
    if not prefix_width:
        return input_ids, attention, None
    rows = [store.take(i, length) if length else None for i, length in batch]
    template = next(kv for kv in rows if kv is not None)
    cache = growing_cache()  # full-attention layers only (supports_prefix_cache)
    for layer_index in range(len(template)):
        keys, values = [], []
        for kv in rows:
            like_k, like_v = template[layer_index]
            k, v = kv[layer_index] if kv is not None else (like_k[..., :0, :], like_v[..., :0, :])
            pad = prefix_width - k.shape[-2]
            keys.append(torch.nn.functional.pad(k, (0, 0, pad, 0)))
            values.append(torch.nn.functional.pad(v, (0, 0, pad, 0)))
        cache.update(torch.cat(keys), torch.cat(values), layer_index)
    return input_ids, attention, cache


def score_continuations(model, input_ids, attention, cache, continuations: list[list[list[int]]]) -> list[list[float]]:
    """log p(continuation | prompt) for each row's continuations, teacher-forced from the batch's cache;
    leaves the cache holding every prompt token but the last, so ``generate`` goes on from there.

    The prompts (all but their last token) run first; then one forward pass takes every continuation of
    every row side by side, each as ``[last prompt token] + continuation[:-1]``, under a mask by which a
    continuation sees its row's prompt and its own earlier tokens only, at the positions it would have
    after the prompt; its tokens are then cropped from the cache.  Rows with no continuation get [].
    """
    import torch

    device = model.device
    width, cached = input_ids.shape[1], cache.get_seq_length()
    positions = positions_from_mask(attention)
    with torch.no_grad():
        if width - 1 > cached:
            model(input_ids=input_ids[:, cached:width - 1].to(device), attention_mask=attention[:, :width - 1].to(device),
                  position_ids=positions[:, cached:width - 1].to(device), cache=cache)
    queries = max(sum(len(c) for c in row) for row in continuations)
    if not queries:
        return [[] for _ in continuations]
    context = width - 1
    ids = torch.zeros((len(continuations), queries), dtype=torch.long)
    where = torch.zeros((len(continuations), queries), dtype=torch.long)
    dtype = next(model.parameters()).dtype
    mask = torch.full((len(continuations), 1, queries, context + queries), torch.finfo(dtype).min, dtype=dtype)
    for row, branches in enumerate(continuations):
        seen = attention[row, :context].bool()
        mask[row, 0, :, :context][:, seen] = 0  # every query sees its row's prompt (padding rows included)
        at = 0
        for forced in branches:
            tokens = [int(input_ids[row, -1])] + forced[:-1]
            ids[row, at:at + len(tokens)] = torch.tensor(tokens)
            where[row, at:at + len(tokens)] = positions[row, -1] + torch.arange(len(tokens))
            for j in range(len(tokens)):
                mask[row, 0, at + j, context + at:context + at + j + 1] = 0
            at += len(tokens)
    with torch.no_grad():
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device), position_ids=where.to(device),
                       cache=cache).logits.float().log_softmax(-1).cpu()
    cache.crop(-queries)
    scores = []
    for row, branches in enumerate(continuations):
        at, row_scores = 0, []
        for forced in branches:
            picked = logits[row, at:at + len(forced)].gather(-1, torch.tensor(forced).unsqueeze(-1))
            row_scores.append(float(picked.sum()))
            at += len(forced)
        scores.append(row_scores)
    return scores
