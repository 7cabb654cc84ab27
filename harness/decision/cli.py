"""`python -m harness decide <run folder> [cost.key=value ...] [--json PATH] [--write]`.

Re-prices a finished run under other cost assumptions without a model: the quality half of the
decision (which conditions tie the best, how stable that is) is recomputed from the stored
records and does not change with prices; the cost half (which of them is cheapest at the stated
volume, where two cost lines cross) does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from harness import decision
from harness.errors import HarnessError
from harness.records import RunFolder

DESCRIPTION = ("Recompute a run folder's Decision (RAG, fine-tuning, both or neither) under other cost assumptions.\n"
               "Overrides: cost.price_per_hour=2.5 cost.queries_per_month=1e6 cost.refresh_per_month=4\n"
               "cost.token_price_per_1k.prompt=0.0005 cost.margin=0.02 cost.hardware=gpu (see conf/cost/default.yaml).")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m harness decide", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", type=Path, help="a completed run folder (results/<exp>/<run>)")
    p.add_argument("overrides", nargs="*", help="cost.<key>=<value> assumptions on top of the run's config")
    p.add_argument("--json", type=Path, default=None, help="also write the decision as JSON here")
    p.add_argument("--write", action="store_true", help="store it as the run folder's decision.json")
    return p


def main(argv: list[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print the Decision; 0 on success, 2 on a bad folder or override (one message)."""
    out, err = out or sys.stdout, err or sys.stderr
    args = parser().parse_args(argv)
    run = RunFolder(args.run)
    try:
        if not run.metrics_file.is_file():
            raise HarnessError(f"{run.metrics_file} not found: give a completed run folder (results/<exp>/<run>)")
        settings = decision.cost_settings(run.read_config().get("cost"), args.overrides)
        made = decision.decide(decision.load_inputs(run.path), settings)
    except (HarnessError, ValueError) as error:
        print(f"error: {error}", file=err)
        return 2
    print(decision.markdown(made), file=out)
    document = decision.to_json(made)
    if args.json:
        args.json.write_text(json.dumps(document, indent=1))
    if args.write:
        from harness import cache

        cache.write_json_atomic(run.path / "decision.json", document)
    return 0


__all__ = ["main", "parser"]
