"""What a clear answer to bad input is: one CLI error line (or click's usage error), or a 4xx JSON error."""

from __future__ import annotations

import json
import traceback
import warnings
from collections.abc import Sequence

from click.testing import CliRunner, Result

from geoapp.cli import main

ERROR = "error"  # must stop with one clear error line
WARN_OR_ERROR = "warn_or_error"  # a clear error, or an answer with a warning that names the problem
NO_CRASH = "no_crash"  # plausible input: any clean answer, never a traceback


def run_cli(args: Sequence[str], **kwargs) -> tuple[Result, list[warnings.WarningMessage]]:
    """The command in-process; Python warnings are recorded (the test run turns them into errors otherwise)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = CliRunner().invoke(main, [str(a) for a in args], **kwargs)
    return result, list(caught)


def _crash(result: Result) -> str | None:
    """The last traceback line when the command raised anything but a clean exit."""
    if result.exception is None or isinstance(result.exception, SystemExit):
        return None
    return "".join(traceback.format_exception(*result.exc_info)).strip().splitlines()[-1]


def cli_problem(result: Result, caught: list, expect: str) -> str | None:
    """Why this is not a clear answer (None when it is)."""
    crash = _crash(result)
    if crash:
        return f"exit {result.exit_code}, unhandled {crash}"
    out = result.output
    if "Traceback" in out or "Traceback" in result.stderr:
        return "a traceback is printed"
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    if result.exit_code == 0:
        if expect == ERROR:
            return f"exit 0 on bad input (stdout {result.stdout[:120]!r})"
        if expect == WARN_OR_ERROR and not (caught or any(ln.lower().startswith("warning") for ln in lines)):
            return f"exit 0 without a warning (stdout {result.stdout[:120]!r})"
        return None
    if result.exit_code not in (1, 2):
        return f"exit {result.exit_code}"
    errors = [ln for ln in lines if ln.lower().startswith("error:")]
    if len(errors) != 1:
        return f"exit {result.exit_code} with {len(errors)} 'error:' lines on stderr: {result.stderr[-300:]!r}"
    usage = any(ln.startswith(("Usage:", "Try ")) for ln in lines)
    other = [ln for ln in lines if not ln.lower().startswith(("error:", "warning:"))]
    if other and not usage:
        return f"stderr has more than the error line: {result.stderr[-300:]!r}"
    return None


def assert_clear_cli(result: Result, caught: list, expect: str = ERROR) -> None:
    problem = cli_problem(result, caught, expect)
    assert problem is None, problem


def http_problem(resp, *, allow_ok: bool = False) -> str | None:
    """None when ``resp`` is a 4xx JSON error (or, with ``allow_ok``, any 2xx/3xx)."""
    body = resp.get_data()
    if resp.status_code >= 500:
        try:
            message = json.loads(body)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = body[:200]
        return f"{resp.status_code}: {message}"
    if b"Traceback" in body:
        return f"{resp.status_code} with a traceback in the body"
    if resp.status_code < 400:
        return None if allow_ok else f"{resp.status_code} on bad input: {body[:160]!r}"
    try:
        err = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return f"{resp.status_code} without a JSON error body: {body[:160]!r}"
    if not (isinstance(err, dict) and isinstance(err.get("code"), str) and isinstance(err.get("message"), str)):
        return f"{resp.status_code} error body is not {{code, message}}: {err!r}"
    return None


def assert_clear_http(resp, *, allow_ok: bool = False) -> None:
    problem = http_problem(resp, allow_ok=allow_ok)
    assert problem is None, problem
