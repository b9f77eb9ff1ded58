"""Sync cost per provider: dispatches to bench/sync_cost_<provider>.py, imported only when asked for.

    python bench/sync_cost.py --provider google --calendars 500
    python bench/sync_cost.py --provider microsoft --calendars 500

Each provider module runs its real collector against its loopback fake and prints
`requests_per_calendar_full`, `api_calls_per_calendar_steady`, `http_roundtrips_per_calendar_steady`
and `wall_seconds_steady`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PROVIDERS = ("google", "microsoft")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen provider's benchmark; a provider whose module is missing fails alone."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--provider", choices=PROVIDERS, required=True)
    parser.add_argument("--calendars", type=int, default=500)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(BENCH.parent))
    sys.path.insert(0, str(BENCH))
    module_name = f"sync_cost_{args.provider}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        print(
            f"sync_cost: no benchmark for {args.provider} (bench/{module_name}.py is missing)",
            file=sys.stderr,
        )
        return 1
    module.main(args.calendars)
    return 0


if __name__ == "__main__":
    sys.exit(main())
