"""MAE (Mitigating Adverse Effects): find calls the environment rejected and take them out of the loss.

``classify_feedback`` reads one tool message, ``check_call`` checks one call against the record's tool
list and schemas, ``mark_record`` applies both to a record (the record format: ``train: false`` plus
``mae_reason`` on the assistant turn).  The reason set and the config are documented in docs/mae.md.
"""

from .checks import check_call
from .config import MAEConfig, load_config
from .feedback import CALL_FAULTS, REASONS, Finding, classify_feedback
from .mark import MarkResult, mark_record

__all__ = ["CALL_FAULTS", "REASONS", "Finding", "MAEConfig", "MarkResult", "check_call", "classify_feedback",
           "load_config", "mark_record"]
