"""``export ID [OUT]``: one e-mail as .eml (to a file or stdout); ``export --client C-1 OUT``:
everything about one client for a data-access request (each message's .eml, or .txt for an
SMS, its attachments, and ``index.json`` listing them with their send logs), into a folder, or
a .zip when OUT ends in ``.zip``."""

from __future__ import annotations

import json
import sys
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import IO, Any, Self

from contos_messaging import AsyncMessenger, Channel, LinkedEntity, Message
from contos_messaging.cli.context import Context
from contos_messaging.cli.convert import attempt_data, message_data
from contos_messaging.cli.exit_codes import CliError, ExitCode
from contos_messaging.cli.output import jsonable
from contos_messaging.cli.parsing import Subparsers, command

__all__ = ["register"]

_PAGE = 500


def register(commands: Subparsers) -> None:
    """Add ``export`` to the parser."""
    export = command(
        commands,
        "export",
        run_export,
        "one e-mail as .eml, or everything about a client (--client)",
    )
    export.add_argument(
        "paths",
        nargs="*",
        metavar="ID [OUT] | OUT",
        help="ID and the .eml file (default stdout); with --client: OUT",
    )
    export.add_argument("--client", metavar="CLIENT_ID", help="export every message of a client")
    export.add_argument("--bcc", action="store_true", help="keep the Bcc header in .eml files")
    export.add_argument("--force", action="store_true", help="overwrite an existing file")


class _Target:
    """A folder or a zip file that the export writes into."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.zip: zipfile.ZipFile | None = None
        if out.suffix.lower() == ".zip":
            if out.exists():
                raise CliError(f"{out} exists; not overwriting it", ExitCode.CONFLICT)
            self.zip = zipfile.ZipFile(out, "x", compression=zipfile.ZIP_DEFLATED)
        else:
            if out.exists() and (not out.is_dir() or any(out.iterdir())):
                raise CliError(f"{out} exists and is not an empty folder", ExitCode.CONFLICT)
            out.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.zip is not None:
            self.zip.close()

    def open(self, name: str) -> IO[bytes]:
        """A writable file at the relative path ``name``."""
        if self.zip is not None:
            return self.zip.open(name, "w", force_zip64=True)
        path = self.out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("xb")

    def write(self, name: str, data: bytes) -> None:
        """Write ``data`` at ``name``."""
        with self.open(name) as fh:
            fh.write(data)


async def _client_messages(messenger: AsyncMessenger, client: LinkedEntity) -> list[Message]:
    """Every message of ``client``, oldest first, page after page by keyset cursor (not by
    offset, which ``Limits.offset`` bounds)."""
    messages: list[Message] = []
    after: str | None = None
    while True:
        page = await messenger.history(client, limit=_PAGE, order="oldest", after=after)
        messages += page.items
        if page.next_after is None:
            return messages
        after = page.next_after


async def _copy(chunks: AsyncIterator[bytes], fh: IO[bytes]) -> int:
    size = 0
    async for chunk in chunks:
        fh.write(chunk)
        size += len(chunk)
    return size


async def _export_one(
    messenger: AsyncMessenger, message: Message, target: _Target, bcc: bool
) -> dict[str, Any]:
    entry = message_data(message, bodies=message.channel is Channel.SMS)
    if message.channel is Channel.EMAIL:
        entry["file"] = f"messages/{message.id}.eml"
        target.write(entry["file"], await messenger.export_eml(message.id, bcc=bcc))
    else:
        entry["file"] = f"messages/{message.id}.txt"
        target.write(entry["file"], (message.text or "").encode("utf-8"))
    for index, listed in enumerate(entry["attachments"]):
        download = await messenger.attachment(message.id, index)
        name = PurePosixPath(download.attachment.filename).name or "attachment"
        listed["file"] = f"attachments/{message.id}/{index + 1}-{name}"
        with target.open(listed["file"]) as fh:
            await _copy(download.chunks, fh)
    entry["send_log"] = [attempt_data(a) for a in await messenger.send_log(message.id)]
    return entry


async def _export_client(ctx: Context, client_id: str, out: Path) -> int:
    messenger = await ctx.messenger()
    messages = await _client_messages(messenger, LinkedEntity.client(client_id))
    entries: list[dict[str, Any]] = []
    with _Target(out) as target, ctx.out.progress("export", len(messages)) as update:
        for done, message in enumerate(messages, start=1):
            entries.append(await _export_one(messenger, message, target, ctx.args.bcc))
            update(done, len(messages))
        index = {
            "client": client_id,
            "exported_at": datetime.now(UTC),
            "exported_by": ctx.actor.id,
            "count": len(entries),
            "messages": entries,
        }
        text = json.dumps(index, ensure_ascii=False, indent=2, default=jsonable)
        target.write("index.json", text.encode("utf-8"))
    files = sum(1 + len(e["attachments"]) for e in entries) + 1
    data = {"client": client_id, "out": str(out), "messages": len(entries), "files": files}
    ctx.out.result(
        data, f"exported {len(entries)} message(s) of client {client_id} to {out} ({files} files)"
    )
    return ExitCode.OK


async def run_export(ctx: Context) -> int:
    """One .eml, or a client's data-access export."""
    args = ctx.args
    if args.client is not None:
        if len(args.paths) != 1:
            raise CliError(
                "export --client CLIENT_ID OUT: give one OUT (folder or .zip)", ExitCode.USAGE
            )
        return await _export_client(ctx, args.client, Path(args.paths[0]))
    if len(args.paths) not in (1, 2):
        raise CliError("export ID [OUT.eml], or export --client CLIENT_ID OUT", ExitCode.USAGE)
    message_id = args.paths[0]
    out = Path(args.paths[1]) if len(args.paths) == 2 else None
    if out is None and ctx.out.json_mode:
        raise CliError("with --json, give the .eml file to write (export ID OUT)", ExitCode.USAGE)
    if out is not None and out.exists() and not args.force:
        raise CliError(f"{out} exists; not overwriting it (--force to)", ExitCode.CONFLICT)
    messenger = await ctx.messenger()
    eml = await messenger.export_eml(message_id, bcc=args.bcc)
    if out is None:
        sys.stdout.buffer.write(eml)
        sys.stdout.buffer.flush()
        return ExitCode.OK
    out.write_bytes(eml)
    ctx.out.result(
        {"id": message_id, "out": str(out), "bytes": len(eml)}, f"wrote {out} ({len(eml):,} bytes)"
    )
    return ExitCode.OK
