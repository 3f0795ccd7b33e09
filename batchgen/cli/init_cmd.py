"""`batchgen init [NAME]`: write a commented starter manifest that runs as written."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from batchgen.cli.arguments import command_parser
from batchgen.cli.invocation import command
from batchgen.errors import UsageError

DEFAULT_NAME = "my-batch"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")

# Every line here is meant to be read: it is the user's first manifest. It must
# validate and run on --simulate exactly as written (a test does both).
STARTER = """\
# {name}: a starter batchgen manifest. Check it, see its jobs, run it on the built-in
# simulated API (no credentials, nothing paid), then for real:
#   {validate}
#   {plan}
#   {simulate}
#   {real}
# 2 prompts x 2 resolutions x 2 looks x 2 samples = 16 jobs.
version: 1
name: {name}                   # the output folder (out/{name}/) and the report's title
# output: out/{name}            # where videos, the ledger and the report go (beside this file)
filename: "{{id}}/{{resolution}}-{{look}}-{{sample}}.mp4"   # any parameter or variable fits here

defaults:                          # model parameters for every job
  duration: 5s                     # 5s or 10s (10s not with loop, hdr or frames)
  aspectRatio: "16:9"              # also 9:16, 3:4, 1:1, 4:3, 21:9

prompts:
  - id: lighthouse                 # names the job in messages, files and the report
    prompt: "A lighthouse on a cliff at dusk, waves breaking below, {{look}}"
  - id: market
    prompt: "A busy night market in the rain, slow dolly forward, {{look}}"
  # - A plain string is a prompt too
  # - id: hero
  #   prompt: "A knight walks toward the camera, {{look}}"
  #   startFrame: frames/knight.png  # a local image, uploaded once
  # - csv: more-prompts.csv          # rows of a CSV file: prompt, id, samples, parameters

matrix:                            # a sweep: every combination of these lists
  resolution: [720p, 1080p]        # a model parameter (540p, 720p, 1080p)
  look: [shot on 35mm film, watercolor painting]   # not a parameter: fills {{look}} above
  # hdr: [false, true]
  # exclude:                       # drop combinations matching all these keys
  #   - {{resolution: 1080p, hdr: true}}

samples: 2                         # generations of each prompt and combination
# on_invalid: skip                 # drop combinations the model refuses, instead of failing
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = command_parser(
        subparsers, "init", run, "write a commented starter manifest",
        "Write NAME.yaml, a commented manifest with two prompts, a small matrix and samples, "
        "that validates and runs on --simulate as written. Never overwrites a file.")
    parser.add_argument("name", metavar="NAME", nargs="?", default=DEFAULT_NAME,
                        help=f"batch name, or a path ending in .yaml (default {DEFAULT_NAME})")


def run(args: argparse.Namespace) -> int:
    """Handle `batchgen init`."""
    path = Path(args.name if args.name.endswith((".yaml", ".yml")) else f"{args.name}.yaml")
    name = path.stem
    if not _NAME.match(name):
        raise UsageError(f"{name!r} cannot name a batch: use letters, digits, '.', '_' and "
                         "'-' (at most 80, starting with a letter or digit)")
    if not path.parent.is_dir():
        raise UsageError(f"{path.parent} is not a folder; create it first")
    shown = str(path)
    text = STARTER.format(
        name=name, validate=command("validate", shown), plan=command("plan", shown),
        simulate=command("run", shown, "--simulate"), real=command("run", shown))
    try:
        # O_EXCL: a file that appears between a check and the write is not overwritten either.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise UsageError(f"{path} exists already; give another NAME") from None
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    from batchgen.cli.validate_cmd import summary
    from batchgen.manifest.load import load_batch

    print(f"wrote {path}: {summary(load_batch(path))}\nnext: {command('plan', shown)}\n"
          f"      {command('run', shown, '--simulate')}")
    return 0
