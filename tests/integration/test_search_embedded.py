"""Full-text search on the embedded store: Tantivy, decrypted hits, consistency with the store."""

from __future__ import annotations

import pytest

from contos_messaging import (
    Actor,
    AsyncMessenger,
    Attachment,
    Channel,
    LinkedEntity,
    MessageStatus,
    Permission,
)
from contos_messaging.adapters.tantivy import TantivySearchIndex
from contos_messaging.adapters.tantivy.schema import LAYOUT
from tests.integration.conftest import INDEX_KEY, MASTER_KEY, store_search_key

C1 = LinkedEntity.client("C-1")
C2 = LinkedEntity.client("C-2")


async def _seed(messenger, clerk):
    a = await messenger.compose_email(
        clerk,
        to='"Dvořák, Petr" <petr.dvorak@example.com>',
        subject="Příloha ke smlouvě",
        html="<p>Vážený pane Dvořáku, v Plzni jsme podepsali dodatek č. 2024/0815 "
        "na 1 500 Kč + DPH.</p>",
        links=[C1, LinkedEntity.contract("K-9")],
        attachments=[Attachment.from_bytes("Vyúčtování listopad.pdf", b"%PDF")],
    )
    messenger.ports.clock.advance(60)
    b = await messenger.compose_email(
        clerk,
        to="eva@example.com",
        subject="Paní Nováková",
        text="Zdravíme paní Novákovou.",
        links=[C2],
    )
    messenger.ports.clock.advance(60)
    c = await messenger.compose_sms(
        clerk, to="601123456", text="Pan Novák, termín zítra.", links=[C1]
    )
    return a, b, c


async def test_search_folds_diacritics_matches_prefixes_and_shows_decrypted_hits(messenger, clerk):
    a, b, c = await _seed(messenger, clerk)
    page = await messenger.search("dvorak")
    assert [h.message.id for h in page.hits] == [a.id]
    assert page.hits[0].message.subject == "Příloha ke smlouvě"
    assert "<mark>Dvořáku</mark>" in page.hits[0].snippet
    assert {h.message.id for h in (await messenger.search("novák")).hits} == {b.id, c.id}
    assert [h.message.id for h in (await messenger.search("PLZN")).hits] == [a.id]
    assert [h.message.id for h in (await messenger.search("vyuctovani")).hits] == [a.id]
    assert [h.message.id for h in (await messenger.search("petr.dvorak")).hits] == [a.id]


@pytest.mark.parametrize(
    "text", ['"', "a:b", "(((", "AND", "1 500 + DPH", "č. 2024/0815", "*", ")", "-x", "~"]
)
async def test_any_input_is_accepted(messenger, clerk, text):
    await _seed(messenger, clerk)
    page = await messenger.search(text)
    assert page.total == len(page.hits)


async def test_user_phrases_keep_every_word(messenger, clerk):
    a, _b, _c = await _seed(messenger, clerk)
    assert [h.message.id for h in (await messenger.search("1 500 + DPH")).hits] == [a.id]
    assert [h.message.id for h in (await messenger.search("č. 2024/0815")).hits] == [a.id]
    assert (await messenger.search("2024/0816")).total == 0


async def test_filters_order_and_paging(messenger, clerk):
    a, b, c = await _seed(messenger, clerk)
    assert [h.message.id for h in (await messenger.search("", channel=Channel.SMS)).hits] == [c.id]
    assert {h.message.id for h in (await messenger.search("", linked=C1)).hits} == {a.id, c.id}
    newest = await messenger.search("", order="newest", limit=2)
    assert [h.message.id for h in newest.hits] == [c.id, b.id]
    assert newest.total == 3
    assert newest.has_more
    since = await messenger.search("", since=b.created_at)
    assert {h.message.id for h in since.hits} == {b.id, c.id}


async def test_status_changes_reach_the_index_and_erasure_removes_documents(messenger, clerk):
    a, b, _c = await _seed(messenger, clerk)
    await messenger.send(clerk, [a.id])
    sent = await messenger.search("", status=MessageStatus.SENT)
    assert [h.message.id for h in sent.hits] == [a.id]
    await messenger.erase_client(Actor("dpo", permissions={Permission.ERASE}), "C-1")
    assert (await messenger.search("dvorak")).total == 0
    assert await messenger.ports.search.ids() == {b.id}


async def test_reindex_and_catch_up_after_a_crash(messenger, store_dir, clerk, clock):
    a, b, c = await _seed(messenger, clerk)
    reported: list[tuple[int, int]] = []
    assert await messenger.reindex(progress=lambda done, total: reported.append((done, total))) == 3
    assert reported == [(3, 3)]
    # The index lost two documents (a crash between the store's and the index's commits).
    await messenger.ports.search.delete([a.id, c.id])
    await messenger.aclose()
    reopened = await AsyncMessenger.open(
        store_dir, master_key=MASTER_KEY, company_sender="info@contos.example.com", clock=clock
    )
    try:
        assert await reopened.ports.search.ids() == {a.id, b.id, c.id}
        assert (await reopened.search("dvorak")).total == 1
    finally:
        await reopened.aclose()


async def test_a_second_writer_is_refused_and_never_blocks_composing(messenger, store_dir, clerk):
    other = await TantivySearchIndex.open(
        store_dir / "search", key=await store_search_key(store_dir)
    )
    try:
        await _seed(messenger, clerk)
        await messenger.wait_indexed()  # this process holds the writer now
        from contos_messaging import StorageError
        from contos_messaging.ports import SearchDocument

        doc = SearchDocument(
            message_id="x",
            channel=Channel.SMS,
            status=MessageStatus.DRAFT,
            created_at=clock_now(messenger),
            created_by="x",
            links=(),
        )
        with pytest.raises(StorageError, match="written by another messenger"):
            await other.upsert([doc])
    finally:
        await other.aclose()


def clock_now(messenger):
    return messenger.ports.clock.now()


async def test_no_word_of_a_long_query_is_dropped(messenger, clerk):
    a, _b, _c = await _seed(messenger, clerk)
    words = "vazeny pane dvoraku v plzni jsme podepsali dodatek c 2024 0815 na 1 500 kc dph"
    assert [h.message.id for h in (await messenger.search(words)).hits] == [a.id]
    assert (await messenger.search(words + " neexistujiciho")).total == 0


async def test_an_edit_reaches_the_store_the_blind_index_and_the_search_index(messenger, clerk):
    a, _b, _c = await _seed(messenger, clerk)
    await messenger.edit(
        clerk, a.id, subject="Zcela jiný předmět", to="nova@example.com", links=[C2]
    )
    stored = await messenger.get(a.id)
    assert stored.version == 2
    assert await messenger.ports.repository.find_by_address("nova@example.com") == [a.id]
    assert await messenger.ports.repository.find_by_address("petr.dvorak@example.com") == []
    assert a.id in {m.id for m in (await messenger.history(C2)).items}
    assert a.id not in {m.id for m in (await messenger.history(C1)).items}
    assert [h.message.id for h in (await messenger.search("predmet")).hits] == [a.id]


async def test_an_index_of_an_older_layout_is_emptied_and_rebuilt_on_open(
    messenger, store_dir, clerk, clock
):
    a, b, c = await _seed(messenger, clerk)
    await messenger.aclose()
    marker = store_dir / "search" / "contos-layout.json"
    marker.write_text('{"layout": 1}', encoding="utf-8")
    reopened = await AsyncMessenger.open(
        store_dir, master_key=MASTER_KEY, company_sender="info@contos.example.com", clock=clock
    )
    try:
        assert await reopened.ports.search.ids() == {a.id, b.id, c.id}
        assert [h.message.id for h in (await reopened.search("dvorak")).hits] == [a.id]
        assert f'"layout": {LAYOUT}' in marker.read_text(encoding="utf-8")
    finally:
        await reopened.aclose()


async def test_a_prefix_of_very_many_words_still_matches_them_all(messenger, clerk):
    # More indexed words start with "kod" than are expanded one by one (an automaton instead).
    words = " ".join(f"kod{n:03d}x" for n in range(80))
    a = await messenger.compose_email(clerk, to="eva@example.com", subject="Kódy", text=words)
    b = await messenger.compose_email(clerk, to="eva@example.com", subject="S", text="kod079x")
    assert {h.message.id for h in (await messenger.search("kod")).hits} == {a.id, b.id}
    assert [h.message.id for h in (await messenger.search("kod000")).hits] == [a.id]
    assert (await messenger.search("kod0")).total == 2


async def test_wait_indexed_puts_every_stored_message_in_the_index(messenger, clerk):
    for n in range(30):
        await messenger.compose_email(clerk, to=f"k{n}@example.com", subject=f"Upomínka {n}",
                                      text="Prosíme o úhradu.")  # fmt: skip
    await messenger.wait_indexed()
    assert await messenger.ports.search.count() == 30
    assert (await messenger.search("upominka uhradu")).total == 30


async def test_html_snippets_come_from_the_visible_text_only(messenger, clerk):
    html = (
        "<html><head><style>.faktura{color:red}</style><title>faktura</title></head>"
        '<body><p class="faktura">Dobrý den,</p><p>' + "výplň " * 80 + "</p>"
        "<p>posíláme <b>fakturu</b> &amp; dodací list &lt;PDF&gt;.</p></body></html>"
    )
    a = await messenger.compose_email(clerk, to="eva@example.com", subject="S", html=html)
    (hit,) = (await messenger.search("faktur")).hits
    assert hit.message.id == a.id
    assert "<mark>fakturu</mark>" in hit.snippet
    assert "&amp; dodací list &lt;PDF&gt;" in hit.snippet
    assert "color" not in hit.snippet
    assert "class" not in hit.snippet
    assert hit.snippet.startswith("…")


async def test_an_index_directory_holding_other_files_is_refused_not_emptied(tmp_path):
    from contos_messaging import StorageError

    (tmp_path / "meta.json").write_text("{}", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(StorageError, match="not a search index"):
        await TantivySearchIndex.open(tmp_path, key=INDEX_KEY)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep me"
