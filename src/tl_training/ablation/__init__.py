"""``tl-training ablate``: does each component of TL-Training help, on the same data, budget and seeds?

- ``design.py``: the variants (a 2x2 factorial MAE x PKT of SFT models, then IRM from two of them), the
  comparisons drawn between them, and the ablation's own config section;
- ``data.py``: the shared data (the pool filtered to what fits, in-distribution first turns held out,
  a sample redrawn and ordered once per seed, the same for every variant of the seed);
- ``control.py``: the MAE positive control (injected errors: MAE against dropping as many clean turns);
- ``stats.py``: per-case outcomes, the comparisons with their confidence intervals and power;
- ``report.py``: ``ablation.md``, ``ablation.json`` and the chart;
- ``archive.py``: the per-case outcomes of finished evaluations, kept under their configuration's hash;
- ``command.py``: the command, which runs each (variant, seed) as a pipeline run and resumes.
"""
