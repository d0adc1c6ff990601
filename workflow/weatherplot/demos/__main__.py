"""One demo as a command (``python -m weatherplot.demos NAME --config DEMOS.json
--output RECORD.json --log DEMO.log``), the one way the demo rule runs it on every
build. A module entry point, so ``__main__`` is guarded and the children of ``spawn``
and ``forkserver``, which import ``__main__`` again, do not rerun the demo.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from ..announce import demo_line
from ..atomicwrite import write_json_atomic
from ..joblog import log_to
from ..startmethod import SETTINGS
from . import DEMOS, run_demo
from .common import use_start_method


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m weatherplot.demos")
    parser.add_argument("name", choices=sorted(DEMOS))
    parser.add_argument("--config", required=True, help="the demos section, JSON")
    parser.add_argument("--output", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--start-method", choices=SETTINGS, default="default")
    parser.add_argument("--job-threads", type=int)
    parser.add_argument(
        "--gil-reenabled-by",
        type=lambda names: [name for name in names.split(",") if name],
        default=[],
        help="comma-separated modules that turned the GIL back on at import",
    )
    args = parser.parse_args(argv)
    log_to(args.log)
    log = logging.getLogger("demo")
    config = json.loads(args.config)
    what = DEMOS[args.name].announce(config)
    print(demo_line(args.name, what, args.log), file=sys.stderr)
    try:
        use_start_method(args.start_method)
        record = run_demo(args.name, config)
        record["job_threads"] = args.job_threads
        record["interpreter"]["gil_reenabled_by"] = args.gil_reenabled_by
        write_json_atomic(args.output, record)
        log.info("%s demo: wrote %s", args.name, args.output)
    except Exception:
        log.exception("%s demo failed", args.name)
        print(f"ERROR: {args.name} demo failed (details: {args.log})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
