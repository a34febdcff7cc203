"""`edge web token [--config F] [--rotate [ROLE]]`: show the page's access tokens (generated at
first use), or replace them, which ends every session of that role on every browser."""

from __future__ import annotations

import argparse

from edge.web.auth import TEACHER, TECHNICIAN, TokenError, ensure_tokens, rotate_tokens, tokens_path

from .common import EXIT_OK, CliError, add_config_argument, config_from_args


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("web", help="the local web page's access")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    token = verbs.add_parser(
        "token", help="print the teacher and technician tokens and the links that log in with them"
    )
    token.add_argument(
        "--rotate", nargs="?", const="all", choices=("all", TEACHER, TECHNICIAN), metavar="ROLE",
        help="generate new tokens (all, teacher or technician): every logged-in page of that "
        "role is logged out; the running daemon uses the new ones at once")
    add_config_argument(token)
    token.set_defaults(func=_token)


def _token(args: argparse.Namespace) -> int:
    config = config_from_args(args, writes_state=True)
    try:
        if args.rotate:
            roles = (TEACHER, TECHNICIAN) if args.rotate == "all" else (args.rotate,)
            tokens = rotate_tokens(config, roles)
            print(f"rotated: {', '.join(roles)} (their sessions are ended)")
        else:
            tokens = ensure_tokens(config)
    except TokenError as exc:
        raise CliError(str(exc)) from None
    host = "<device>" if config.web.host in ("0.0.0.0", "::") else config.web.host
    base = f"http://{host}:{config.web.port}"
    print(f"teacher:    {tokens.teacher}")
    print(f"technician: {tokens.technician}")
    print(f"teacher page:     {base}/?token={tokens.teacher}")
    print(f"calibration page: {base}/calibration?token={tokens.technician}")
    if not (config.web.token and config.web.technician_token):
        print(f"(generated tokens are kept in {tokens_path(config)})")
    return EXIT_OK
