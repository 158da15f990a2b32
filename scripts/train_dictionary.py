"""Train the SQLite store's default zstd dictionary and write it where the package ships it.

    python scripts/train_dictionary.py           # (re)write the shipped dictionary
    python scripts/train_dictionary.py --check   # exit 1 if the shipped file is not what
                                                 # this script produces (run by the tests)

The dictionary is trained on the stored form (``encode_content``) of synthetic ContOS e-mails
with invented recipients and record ids (``scripts/synthetic_mail.py``), never on customer data.
Training is deterministic: the same samples and zstandard give the same bytes.

A store copies the dictionary into its ``dictionaries`` table (as id
``DEFAULT_DICTIONARY_ID``) when it is created and from then on reads only its own copy, so
shipping a retrained dictionary changes new stores only; stores already written keep opening
with the dictionary they were written with.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from synthetic_mail import synthetic_contacts, synthetic_emails, train

from contos_messaging.adapters.sqlite.codec import encode_content
from contos_messaging.domain.addresses import EmailAddress, EmailRecipients
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Message

SHIPPED = Path(__file__).resolve().parents[1] / "src/contos_messaging/adapters/sqlite/default.zdict"
SAMPLES = 3000
SEED = 20261128


def build(samples: int = SAMPLES, seed: int = SEED) -> bytes:
    """The default dictionary, trained on ``samples`` synthetic e-mails in their stored form."""
    sender = EmailAddress("info@contos.example.com", "ContOS s.r.o.")
    created = datetime(2026, 1, 1, tzinfo=UTC)
    docs = []
    mails = synthetic_emails(samples, seed=seed)
    contacts = synthetic_contacts(samples, seed=seed)
    for i, ((subject, html), (name, address)) in enumerate(zip(mails, contacts, strict=True)):
        message = Message.email(
            sender=sender,
            recipients=EmailRecipients(to=(EmailAddress(address, name),)),
            subject=subject,
            html=html,
            links=[LinkedEntity.client(f"C-{i * 7919 % 100000}"), LinkedEntity.order(f"O-{i}")],
            created_by="synthetic",
            created_at=created,
        )
        docs.append(encode_content(message))
    return train(docs)


def main(argv: list[str] | None = None) -> int:
    """Write the dictionary, or with ``--check`` compare it with the shipped file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--output", type=Path, default=SHIPPED)
    args = parser.parse_args(argv)
    data = build()
    if args.check:
        shipped = args.output.read_bytes() if args.output.exists() else b""
        if shipped != data:
            print(
                f"{args.output} is not what {Path(__file__).name} produces"
                f" ({len(shipped)} bytes shipped, {len(data)} trained): run it without --check",
                file=sys.stderr,
            )
            return 1
        print(f"{args.output}: up to date ({len(data)} bytes)")
        return 0
    args.output.write_bytes(data)
    print(f"wrote {args.output} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
