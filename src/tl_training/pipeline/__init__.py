"""The main job end to end: data -> MAE -> SFT (PKT) -> RL (IRM) -> evaluation -> report, resumable;
and the ablation that runs its variants over seeds.  See docs/pipeline.md."""
