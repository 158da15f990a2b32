"""Store administration: ``init``, ``config``, ``reindex``, ``verify``, ``gc``, ``rotate-key``,
``erase-client``."""

from __future__ import annotations

import base64
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from contos_messaging import LinkedEntity, MessengerSettings
from contos_messaging.bootstrap import open_embedded
from contos_messaging.cli.context import PLACEHOLDER_SENDER, STORE_MARKER, Context
from contos_messaging.cli.exit_codes import CliError, ExitCode
from contos_messaging.cli.parsing import Subparsers, command
from contos_messaging.cli.settings import SECRETS

__all__ = ["register", "write_new_key"]


def register(commands: Subparsers) -> None:
    """Add the store commands to the parser."""
    command(commands, "init", init, "create a store directory and its master key file")
    command(commands, "config", show_config, "show the settings in force and where each is from")
    command(commands, "reindex", reindex, "rebuild the search index from the store")
    command(commands, "verify", verify, "open every stored object and report those that fail")
    gc_cmd = command(commands, "gc", collect, "remove stored attachments no message refers to")
    gc_cmd.add_argument(
        "--grace-hours",
        type=float,
        default=1.0,
        metavar="HOURS",
        help="only those older than this (default 1)",
    )
    rotate = command(commands, "rotate-key", rotate_key, "put the store under a new master key")
    rotate.add_argument(
        "--new-key-file",
        metavar="FILE",
        help="where to write the new key (default: the key file + .new)",
    )
    rotate.add_argument(
        "--finish",
        action="store_true",
        help="finish the rotation (alone: of an earlier rotate-key, once every"
        " process runs with the new key)",
    )
    erase = command(
        commands,
        "erase-client",
        erase_client,
        "erase all communication of a client (crypto-shredding)",
    )
    erase.add_argument("client_id", metavar="CLIENT_ID")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    erase.add_argument(
        "--wait",
        action="store_true",
        help="wait until the search index files hold nothing of the client",
    )


def write_new_key(path: Path) -> str:
    """Write a new random master key (base64) to ``path``, readable by its owner only; refuses
    to overwrite a file. Returns the key."""
    key = base64.b64encode(os.urandom(32)).decode("ascii")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CliError(
            f"a key file exists at {path}; not overwriting it", ExitCode.CONFLICT
        ) from None
    except OSError as exc:
        raise CliError(
            f"cannot write the key file {path}: {exc.strerror}", ExitCode.ACCESS
        ) from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return key


async def init(ctx: Context) -> int:
    """Create the store and (unless the key comes from the environment) its key file."""
    store, key_file = ctx.settings.store, ctx.settings.key_file
    if (store / STORE_MARKER).exists() or (store.is_dir() and any(store.iterdir())):
        raise CliError(
            f"{store} already holds files; not creating a store there", ExitCode.CONFLICT
        )
    if store.exists() and not store.is_dir():
        raise CliError(f"{store} is not a directory", ExitCode.CONFLICT)
    keys_db = ctx.settings.get("keys_db")
    if keys_db is not None and Path(keys_db).exists():
        raise CliError(f"a key database exists at {keys_db}; not overwriting it", ExitCode.CONFLICT)
    key: str | None = None if key_file is None else write_new_key(key_file)
    try:
        settings = MessengerSettings(company_sender=PLACEHOLDER_SENDER)
        messenger = await open_embedded(store, master_key=key, keys_path=keys_db, settings=settings)
        await messenger.aclose()
    except BaseException:
        if key_file is not None:
            key_file.unlink(missing_ok=True)
        raise
    data = {
        "store": str(store.resolve()),
        "key_file": None if key_file is None else str(key_file.resolve()),
        "keys_db": None if keys_db is None else str(keys_db),
    }

    def human() -> None:
        ctx.out.say(f"created the store {data['store']}")
        if key_file is not None:
            ctx.out.say(f"master key written to {data['key_file']} (mode 600)")
            ctx.out.say(
                "keep it secret and back it up apart from the store: without it the"
                " store cannot be read"
            )
        else:
            ctx.out.say(f"master key: {ctx.key_source()}")

    ctx.out.result(data, human)
    return ExitCode.OK


def _plain(value: Any) -> Any:
    """A setting's value as JSON has it: numbers as they are, lists, the rest as text."""
    if value is None or isinstance(value, int | float):
        return value
    return list(value) if isinstance(value, tuple) else str(value)


async def show_config(ctx: Context) -> int:
    """The settings in force, each with its source."""
    settings = ctx.settings
    values = {name: _plain(value) for name, value in settings.values.items()}
    data: dict[str, Any] = {
        "config_file": None if settings.config_file is None else str(settings.config_file),
        "settings": {
            name: {"value": value, "source": settings.sources.get(name, "")}
            for name, value in values.items()
        },
    }
    for secret in SECRETS:  # (never the secret itself)
        if secret.name in settings.sources:
            data["settings"][secret.name] = {
                "value": "(set)",
                "source": settings.sources[secret.name],
            }

    def human() -> None:
        ctx.out.say(f"config file: {data['config_file'] or '(none)'}")
        rows = [(n, v["value"], v["source"]) for n, v in data["settings"].items()]
        ctx.out.table(("setting", "value", "from"), rows)

    ctx.out.result(data, human)
    return ExitCode.OK


async def reindex(ctx: Context) -> int:
    """Rebuild the search index, with progress."""
    messenger = await ctx.messenger()
    with ctx.out.progress("reindex") as update:
        count = await messenger.reindex(progress=update)
    ctx.out.result({"indexed": count}, f"indexed {count} message(s)")
    return ExitCode.OK


async def verify(ctx: Context) -> int:
    """Open every sealed object; exit 1 when any fails."""
    messenger = await ctx.messenger()
    with ctx.out.progress("verify") as update:
        report = await messenger.verify()
        update(report.checked, report.checked)
    problems = [{"object_id": p.object_id, "reason": p.reason} for p in report.problems]
    data = {"ok": report.ok, "checked": report.checked, "problems": problems}

    def human() -> None:
        ctx.out.say(f"checked {report.checked} sealed object(s): {len(problems)} bad")
        if problems:
            ctx.out.table(("object", "reason"), [(p["object_id"], p["reason"]) for p in problems])

    ctx.out.result(data, human)
    return ExitCode.OK if report.ok else ExitCode.FAILED


async def collect(ctx: Context) -> int:
    """Garbage-collect orphaned attachments."""
    if ctx.args.grace_hours < 0:
        raise CliError("--grace-hours must not be negative", ExitCode.USAGE)
    messenger = await ctx.messenger()
    report = await messenger.gc(grace=timedelta(hours=ctx.args.grace_hours))
    data = {"removed_objects": report.removed_objects, "freed_bytes": report.freed_bytes}
    ctx.out.result(
        data, f"removed {report.removed_objects} object(s), freed {report.freed_bytes:,} bytes"
    )
    return ExitCode.OK


async def rotate_key(ctx: Context) -> int:
    """Rotate the master key to a new key file (and/or finish a rotation)."""
    messenger = await ctx.messenger()
    given = ctx.args.new_key_file
    if given is None and ctx.args.finish:
        finished = await messenger.finish_master_key_rotation(ctx.actor)
        ctx.out.result({"finished_rotations": finished}, f"finished {finished} rotation(s)")
        return ExitCode.OK
    current = ctx.settings.key_file
    if given is None and current is None:
        raise CliError("give --new-key-file (the key comes from the environment)", ExitCode.USAGE)
    target = Path(given) if given is not None else Path(f"{current}.new")
    key = write_new_key(target)
    try:
        count = await messenger.rotate_master_key(ctx.actor, key, finish=ctx.args.finish)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    data = {
        "rewrapped_keys": count,
        "new_key_file": str(target.resolve()),
        "finished": bool(ctx.args.finish),
    }

    def human() -> None:
        ctx.out.say(
            f"re-wrapped {count} key(s); the store now opens with {data['new_key_file']} only"
        )
        ctx.out.say("use it as --key-file (CONTOS_KEY_FILE) from now on")
        if not ctx.args.finish:
            ctx.out.say("restart every other process with it, then run: rotate-key --finish")

    ctx.out.result(data, human)
    return ExitCode.OK


async def erase_client(ctx: Context) -> int:
    """Erase a client, after confirmation (unless --yes)."""
    client_id = ctx.args.client_id
    messenger = await ctx.messenger()
    if not ctx.args.yes:
        count = (await messenger.history(LinkedEntity.client(client_id), limit=1)).total
        sys.stderr.write(
            f"Erase all communication of client {client_id} ({count} message(s))? This cannot"
            " be undone. [y/N] "
        )
        sys.stderr.flush()
        answer = sys.stdin.readline().strip().lower()
        if not sys.stdin.isatty():  # (the answer was not echoed: end the prompt's line)
            sys.stderr.write("\n")
        if answer not in ("y", "yes"):
            raise CliError(f"not confirmed; client {client_id} was not erased", ExitCode.FAILED)
    erased = await messenger.erase_client(ctx.actor, client_id)
    compacted = None
    if ctx.args.wait:
        report = await messenger.wait_for_compaction()
        compacted = report is not None
    data = {"client": client_id, "erased": list(erased), "compacted": compacted}
    ctx.out.result(data, f"erased client {client_id}: {len(erased)} message(s)")
    return ExitCode.OK
