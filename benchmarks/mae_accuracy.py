"""MAE accuracy on the hand labels (tests/labels/mae_*.jsonl): our classifier against the authors' rule.

The records come from the converters (``tl_training.convert``) run on ../shared/data; each label is found
again by its call name, arguments and verbatim feedback text.  The authors' rule is re-implemented here
(not in the product) as the baseline: lower-case the feedback, strip punctuation, flag it when it
contains any of their error phrases, which degenerates to containing the letters "error".

    python benchmarks/mae_accuracy.py [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import re
import string
from pathlib import Path

from tl_training.convert import FORMATS
from tl_training.jsonl import Tally
from tl_training.mae import MAEConfig, check_call
from tl_training.mae.mark import call_feedback

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = {  # label file -> (converter, source under ../shared/data)
    "mae_rotbench_third_turn": ("rotbench", "rotbench/Third_Turn/clean.json"),
    "mae_toolbench": ("toolbench", "toolbench"),
    "mae_rotbench_train": ("rotbench", "rotbench_train/Tools_gpt4"),
}
# The authors' rule as docs/method.md describes it (their phrase list re-created from that description, not copied):
# substrings of the error signatures, compared after removing punctuation and case, so "error" alone decides.
AUTHORS_PHRASES = ["error", "is not defined", "missing 1 required positional argument",
                   "got an unexpected keyword argument", "invalid api call", "client error", "typeerror"]
_PUNCT = str.maketrans("", "", string.punctuation)


def authors_rule(feedback: str) -> bool:
    text = feedback.lower().translate(_PUNCT)
    return any(phrase.translate(_PUNCT) in text for phrase in AUTHORS_PHRASES)


def _key(name: str, arguments, feedback: str) -> tuple:
    return name, json.dumps(arguments, sort_keys=True, ensure_ascii=False), feedback


def predictions(converter: str, source: Path, config: MAEConfig) -> dict[tuple, dict[str, bool]]:
    """(call name, arguments, feedback) -> decisions of each rule, over every converted record."""
    found: dict[tuple, dict[str, bool]] = {}
    for record in FORMATS[converter](source, Tally(), False):
        for _, call, text in call_feedback(record):
            if text is None:
                continue
            feedback = config.classifier.classify(text, call["arguments"])
            checked = feedback or check_call(call, record)
            found[_key(call["name"], call["arguments"], text)] = {
                "ours": feedback is not None, "ours+call checks": checked is not None, "authors": authors_rule(text)}
    return found


def scores(pairs: list[tuple[bool, bool]]) -> tuple[float, float, int, int, int]:
    tp = sum(p and g for p, g in pairs)
    fp = sum(p and not g for p, g in pairs)
    fn = sum(g and not p for p, g in pairs)
    return tp / (tp + fp) if tp + fp else 0.0, tp / (tp + fn) if tp + fn else 0.0, tp, fp, fn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    args = parser.parse_args()
    config = MAEConfig()
    print("| fixture | labels (adverse) | matched | rule | precision | recall | TP/FP/FN |")
    print("|---|---|---|---|---|---|---|")
    for name, (converter, source) in FIXTURES.items():
        labels = [json.loads(x) for x in (ROOT / "tests" / "labels" / f"{name}.jsonl").read_text().splitlines() if x]
        found = predictions(converter, Path(args.shared) / source, config)
        matched = [(found[k], lab["adverse"]) for lab in labels
                   if (k := _key(lab["call"]["name"], lab["call"]["arguments"], lab["feedback"])) in found]
        adverse = sum(lab["adverse"] for lab in labels)
        for rule in ("ours", "ours+call checks", "authors"):
            p, r, tp, fp, fn = scores([(decision[rule], gold) for decision, gold in matched])
            print(f"| {name} | {len(labels)} ({adverse}) | {len(matched)} | {rule} | {p:.3f} | {r:.3f} | {tp}/{fp}/{fn} |")


if __name__ == "__main__":
    main()
