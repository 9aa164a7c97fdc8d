"""BFCL multi-turn episodes behind the environment protocol (BFCL's ``multi_turn_checker`` rules).

A case is a record from ``convert.bfcl`` for a ``multi_turn_*`` category.  Its initial config loads two sets
of backend instances (``eval.bfcl_backends.Environment``): the model's and the ground truth's.  Each user
turn's messages are appended in turn; at a held-out turn (``miss_func``) the held-out tools are added and
the user says so (BFCL's prompt).  When the model ends a turn (a turn without calls), the turn's
ground-truth calls run on their instances and the turn is checked; the first failure decides the task:

- a turn with ground-truth calls needs at least one model call;
- **state**: every public attribute of each ground-truth instance equals the model instance's;
- **response**: each ground-truth result appears among the model's results of this and earlier turns
  (one occurrence consumed per item, any order);
- a turn without ground-truth calls (``miss_func`` / ``miss_param``) needs no model call (BFCL's
  irrelevance check): the model should ask or abstain.
"""

from __future__ import annotations

from typing import Any

from ..eval.bfcl_backends import Environment as Backends
from .base import Outcome, Step, ToolResult, append_result, append_turn

# BFCL's DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC: the user message of a held-out turn
HOLDOUT_PROMPT = "I have updated some more functions you can choose from. What about now?"


def is_bfcl_episode(case: dict[str, Any]) -> bool:
    return "initial_config" in (case.get("meta") or {})


def state_difference(model: Backends, gold: Backends) -> str | None:
    """The first public attribute where the model's state differs from the ground truth's (BFCL compares
    the attributes of the ground-truth instance)."""
    model_state = model.state()
    for class_name, attributes in gold.state().items():
        for key, value in attributes.items():
            if model_state[class_name].get(key) != value:
                return f"{class_name}.{key}"
    return None


def missing_results(model_results: list[str], gold_results: list[str]) -> list[str]:
    """Ground-truth results not found among the model's (each model result matches at most one)."""
    pool, missing = list(model_results), []
    for item in gold_results:
        if item in pool:
            pool.remove(item)
        else:
            missing.append(item)
    return missing


class BFCLEnvironment:
    gold = None  # BFCL grades the state, not each call: calls are graded from their feedback

    def reset(self, case: dict[str, Any]) -> dict[str, Any]:
        meta = case["meta"]
        long_context = "long_context" in meta["category"]
        self.meta = meta
        self.model = Backends(meta["initial_config"], meta["involved_classes"], long_context)
        self.ground_truth = Backends(meta["initial_config"], meta["involved_classes"], long_context)
        self.record = {"id": case["id"], "tools": list(case["tools"]), "messages": []}
        self.turn, self.made_call, self.done = 0, False, False
        self.model_results: list[str] = []  # every turn so far: the response check looks back over earlier turns
        self.turns: list[dict[str, Any]] = []  # per turn: the ground truth's calls and results
        self.failure: tuple[int, str] | None = None
        self._begin_turn()
        return self.record

    def _begin_turn(self) -> None:
        user_messages = self.meta["turns"][self.turn]
        if str(self.turn) in self.meta["holdout_tools"]:
            self.record["tools"] += self.meta["holdout_tools"][str(self.turn)]
            user_messages = [{"role": "user", "content": HOLDOUT_PROMPT}]
        self.record["messages"] += [{"role": m["role"], "content": m["content"]} for m in user_messages]
        self.made_call = False

    def _fail(self, reason: str) -> None:
        if self.failure is None:
            self.failure = (self.turn, reason)

    def step(self, calls: list[dict[str, Any]], content: str = "") -> Step:
        if self.done:
            raise RuntimeError("step after the episode ended")
        append_turn(self.record, calls, content)
        if calls:
            self.made_call = True
            results = []
            for call in calls:
                executed = self.model.execute(call)
                results.append(ToolResult(call, executed.text, executed.rejected))
                self.model_results.append(executed.text)
                append_result(self.record, results[-1])
            return Step(results, False)
        self._check_turn()
        self.turn += 1
        self.done = self.turn == len(self.meta["turns"])
        if not self.done:
            self._begin_turn()
        return Step([], self.done)

    def _run_ground_truth(self) -> list[str]:
        gold_calls = [self.ground_truth.gold_call(text) for text in self.meta["ground_truth"][self.turn]]
        gold_results = [self.ground_truth.execute(call).text for call in gold_calls]
        self.turns.append({"gold": gold_calls, "gold_results": gold_results})
        return gold_results

    def _check_turn(self) -> None:
        gold_results = self._run_ground_truth()
        if not self.turns[-1]["gold"]:
            if self.made_call:
                self._fail("called a function where the task cannot be done (should ask or abstain)")
            return
        if not self.made_call:
            self._fail("no call where the ground truth calls")
            return
        difference = state_difference(self.model, self.ground_truth)
        if difference:
            self._fail(f"state differs from the ground truth's: {difference}")
        missing = missing_results(self.model_results, gold_results)
        if missing:
            self._fail(f"ground-truth results missing from the model's: {missing[:2]}")

    def truncate(self, reason: str) -> None:
        """The runner stopped a turn still calling: BFCL's force-quit fails and ends the task."""
        if not self.done:
            self._run_ground_truth()
            self._fail(reason)
            self.done = True

    def outcome(self) -> Outcome:
        if self.failure is not None:
            return Outcome(False, self.failure[1])
        return Outcome(self.done, "" if self.done else "episode not finished")
