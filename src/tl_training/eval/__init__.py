"""Evaluation: benchmarks (``benchmarks``), TS/PI/CF metrics (``metrics``), batched greedy generation
(``generate``), the exact-match fast path (``fastpath``), reports (``report``); commands ``eval`` and
``compare`` (``command``).  docs/eval.md describes them."""
