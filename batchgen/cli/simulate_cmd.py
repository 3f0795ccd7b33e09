"""`batchgen simulate`: serve the simulated Scenario API on loopback."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from batchgen.cli.arguments import command_parser
from batchgen.cli.invocation import command
from batchgen.cli.argtypes import non_negative_float, port, positive_float, positive_int, rate
from batchgen.errors import UsageError

DUMMY_KEY, DUMMY_SECRET = "sim-key", "sim-secret"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = command_parser(
        subparsers, "simulate", run, "serve the simulated Scenario API on loopback",
        "Serve the simulated Scenario API (jobs, assets, signed URLs, faults) on a loopback "
        "address until Ctrl-C. It expects the credentials in SCENARIO_SDK_API_KEY/"
        f"SCENARIO_SDK_API_SECRET if they are set, else {DUMMY_KEY}/{DUMMY_SECRET}. Durations "
        "are in simulated seconds; --time-scale sets how many pass per real second.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="loopback address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=port, default=8787, help="port (default 8787; 0 = any free)")
    parser.add_argument("--duration", type=positive_float, nargs=2, metavar=("MIN", "MAX"),
                        default=(40.0, 120.0), help="job duration range, simulated seconds (40 120)")
    parser.add_argument("--time-scale", type=positive_float, default=1.0,
                        help="simulated seconds per real second (default 1)")
    parser.add_argument("--ceiling", type=positive_int, default=10,
                        help="jobs in flight before generate answers 429 (default 10)")
    parser.add_argument("--url-lifetime", type=positive_float, default=3600.0,
                        help="life of a signed download URL, simulated seconds (default 3600)")
    parser.add_argument("--retry-after", type=positive_float, default=5.0,
                        help="Retry-After advised with a 429, simulated seconds (default 5)")
    for name, what in (("server-error", "API requests answering 500/502/503"),
                       ("drop", "API requests whose connection is dropped mid-answer"),
                       ("truncate", "downloads cut off halfway"),
                       ("failure", "jobs ending in failure"),
                       ("rate-limit", "API requests answering 429 with Retry-After, "
                        "whatever the load"),
                       ("expire", "downloads refused as expired, however young the URL")):
        parser.add_argument(f"--{name}-rate", type=rate, default=0.0, metavar="P",
                            help=f"share of {what} (0..1, default 0)")
    parser.add_argument("--after-create-rate", type=rate, default=0.5, metavar="P",
                        help="share of generate faults striking after the job was created "
                        "(default 0.5)")
    parser.add_argument("--error-field", choices=("reason", "message", "error", "detail"),
                        default="reason", help="body field error answers carry their text in "
                        "(default reason, as Scenario's own client reads first)")
    parser.add_argument("--short-page-rate", type=rate, default=0.3, metavar="P",
                        help="share of job-list pages cut short or empty while more follow, as "
                        "the API documents (0..1, default 0.3)")
    parser.add_argument("--unreadable-for", type=non_negative_float, default=0.0, metavar="S",
                        help="simulated seconds a new job is absent from GET /jobs/{id} (404) "
                        "and from the list (default 0)")
    parser.add_argument("--asset-pending-for", type=non_negative_float, default=0.0, metavar="S",
                        help="simulated seconds a video stays pending, without URL, after its "
                        "job succeeded (default 0)")
    parser.add_argument("--rate-limit-style", choices=("details", "bare", "remaining"),
                        default="details", help="what a 429 over the ceiling states: details "
                        "(actionLimit and Retry-After), bare (nothing) or remaining (only a "
                        "body remainingSeconds); default details")
    parser.add_argument("--echo-defaults", action="store_true",
                        help="a job's metadata.input adds the model's default of each input the "
                        "body left out")
    parser.add_argument("--echo-omits", metavar="FIELD,...", default="",
                        help="fields a job's metadata.input leaves out (comma separated; never "
                        "the prompt)")
    parser.add_argument("--seed", type=int, default=None, help="seed for reproducible runs")
    parser.add_argument("--access-denied", action="store_true",
                        help="answer generate with 403, as for a plan without the model")
    parser.add_argument("--models", metavar="DIR", action="append", default=[],
                        help="also serve every models/<model-id>.schema.json of this folder "
                        "(a manifest's folder, or its models/ folder); repeatable")


def run(args: argparse.Namespace) -> int:
    from batchgen.api.auth import KEY_VARIABLE, SECRET_VARIABLE
    from batchgen.simulator.server import base_url, bind, serve

    sim, from_env = build_simulator(args)
    sock = bind(args.host, args.port)
    url = base_url(sock)
    # A command to paste in another shell (with the credentials this server expects,
    # unless they come from the environment, where the other shell has them too).
    credentials = "" if from_env else f"{KEY_VARIABLE}={DUMMY_KEY} {SECRET_VARIABLE}={DUMMY_SECRET} "
    print(f"Simulated Scenario API on {url} (Ctrl-C to stop)\n"
          f"Run a manifest against it{' (with the same ' + KEY_VARIABLE + ' and ' + SECRET_VARIABLE + ')' if from_env else ''}:\n"
          f"  {credentials}{command('run', 'MANIFEST', '--base-url', url)}",
          flush=True)
    serve(sim, sock)
    return 0


def build_simulator(args: argparse.Namespace):
    """The Simulator the options describe, and whether it takes the environment's credentials."""
    from batchgen.api.auth import KEY_VARIABLE, SECRET_VARIABLE
    from batchgen.simulator import Simulator

    if args.duration[0] > args.duration[1]:
        raise UsageError(f"--duration {args.duration[0]:g} {args.duration[1]:g}: MIN is above MAX")
    from batchgen.models.catalog import models_in

    models = [m for folder in args.models for m in models_in(Path(folder)).values()]
    key, secret = os.environ.get(KEY_VARIABLE), os.environ.get(SECRET_VARIABLE)
    from_env = bool(key and secret)
    sim = Simulator(
        api_key=key if from_env else DUMMY_KEY, api_secret=secret if from_env else DUMMY_SECRET,
        duration_range=tuple(args.duration), time_scale=args.time_scale, ceiling=args.ceiling,
        url_lifetime=args.url_lifetime, retry_after=args.retry_after,
        server_error_rate=args.server_error_rate, drop_rate=args.drop_rate,
        truncate_rate=args.truncate_rate, failure_rate=args.failure_rate,
        after_create_rate=args.after_create_rate, rate_limit_rate=args.rate_limit_rate,
        expire_rate=args.expire_rate, seed=args.seed,
        models=models, access_denied=args.access_denied, error_field=args.error_field,
        short_page_rate=args.short_page_rate, unreadable_for=args.unreadable_for,
        asset_pending_for=args.asset_pending_for, rate_limit_style=args.rate_limit_style,
        echo_defaults=args.echo_defaults,
        echo_omits=[f.strip() for f in args.echo_omits.split(",") if f.strip()])
    return sim, from_env
