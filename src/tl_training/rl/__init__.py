"""IRM, Stage 3 of TL-Training: reinforcement learning with the error-category reward (``verdict.judge``).

``ppo.py`` is the paper's optimiser (actor, frozen reference, learned critic) as one readable accelerate
loop; ``grpo.py`` wires the same reward into TRL's ``GRPOTrainer``.  ``tl-training rl --config C.yaml``
runs either (``algorithm: ppo | grpo``).
"""
