"""tl-training: TL-Training (Ye et al., EMNLP 2025) on the Hugging Face stack."""

__version__ = "0.1.0"
