"""Search against a real Whoosh index in a temp folder, fed by the real change log."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tortoise.transactions import in_transaction

from forum import changes
from forum.accounts.models import User
from forum.knowledge import services as knowledge
from forum.networks.models import Network, Role, Visibility
from forum.permissions import readable_network_ids, viewer_for
from forum.search import indexer
from forum.search.indexer import catch_up, check, rebuild
from forum.search.service import SearchService
from forum.search.syntax import Filters
from forum.threads import curation as curate
from forum.threads import services as threads
from forum.threads.models import Post, Thread
from tests.conftest import QueryCounter
from tests.factories import make_member, make_network, make_org, make_reply, make_thread, make_user


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


@pytest.fixture
def search(index_dir: Path) -> Iterator[SearchService]:
    service = SearchService(index_dir)
    yield service
    service.close()


async def test_stemming_finds_other_forms_of_the_words(
    db: str, index_dir: Path, search: SearchService
) -> None:
    network = await make_network("dl")
    alice = await make_member(network)
    await make_thread(
        network, alice, title="How is your data team structured?", body="Hub and spoke."
    )
    await make_thread(network, alice, title="Parking sensors", body="LoRaWAN is cheap.")
    await catch_up(index_dir)
    page = await search.search("structuring teams", network_ids=[network.id])
    assert page.total == 1
    assert page.hits[0].title == "How is your data team structured?"
    assert "<mark>" in page.hits[0].snippet


async def test_a_snippet_from_the_middle_of_a_post_shows_it_goes_on(
    db: str, index_dir: Path, search: SearchService
) -> None:
    network = await make_network("dl")
    alice = await make_member(network)
    filler = " ".join(f"word{i}" for i in range(80))
    await make_thread(network, alice, title="Long", body=f"{filler} zebracrossing {filler}")
    await make_thread(network, alice, title="Short", body="Only a quokka here.")
    await catch_up(index_dir)
    long = (await search.search("zebracrossing", network_ids=[network.id])).hits[0].snippet
    assert long.startswith("…") and long.endswith("…") and "<mark>zebracrossing</mark>" in long
    short = (await search.search("quokka", network_ids=[network.id])).hits[0].snippet
    assert short == "Only a <mark>quokka</mark> here."


async def test_members_only_canary_never_reaches_outsiders(
    db: str, index_dir: Path, search: SearchService
) -> None:
    public = await make_network("open")
    secret = await make_network("secret", visibility=Visibility.MEMBERS)
    insider = await make_member(secret)
    await make_member(public, insider)
    await make_thread(secret, insider, title="Zanzibarcanary plans", body="zanzibarcanary words")
    await make_thread(public, insider, title="Open", body="zanzibarcanarx open words")
    await catch_up(index_dir)
    outsider_ids = await readable_network_ids(await viewer_for(None))
    page = await search.search("zanzibarcanary", network_ids=outsider_ids)
    assert page.total == 0 and page.hits == []
    assert page.suggestion is None or "zanzibarcanary" not in page.suggestion
    insider_ids = await readable_network_ids(await viewer_for(insider))
    assert (await search.search("zanzibarcanary", network_ids=insider_ids)).total == 1


async def test_operators_and_filters(db: str, index_dir: Path, search: SearchService) -> None:
    dl = await make_network("dl")
    ds = await make_network("ds")
    org = await make_org("Kingsmere")
    alice = await make_member(dl, await make_user("alice", organisation=org))
    await make_member(ds, alice)
    bob = await make_member(ds, await make_user("bob"))
    await make_thread(dl, alice, title="Budget for data", body="funding models", tags="money")
    await make_thread(ds, bob, title="Python packages", body="funding for mirrors")
    await catch_up(index_dir)
    ids = [dl.id, ds.id]
    assert (await search.search("funding", network_ids=ids)).total == 2
    assert (await search.search("funding network:dl", network_ids=ids)).total == 1
    assert (await search.search("funding author:bob", network_ids=ids)).total == 1
    assert (await search.search("funding tag:money", network_ids=ids)).total == 1
    assert (await search.search("funding -mirrors", network_ids=ids)).total == 1
    assert (await search.search('"funding models"', network_ids=ids)).total == 1
    assert (await search.search("budget in:title", network_ids=ids)).total == 1
    assert (await search.search("models in:title", network_ids=ids)).total == 0
    assert (await search.search("budget OR python", network_ids=ids)).total == 2
    assert (await search.search("after:2000-01-01 funding", network_ids=ids)).total == 2
    assert (await search.search("before:2000-01-01 funding", network_ids=ids)).total == 0
    f = Filters(org=org.slug)
    assert (await search.search("funding", network_ids=ids, filters=f)).total == 1


async def test_no_all_word_match_falls_back_to_any_word(
    db: str, index_dir: Path, search: SearchService
) -> None:
    dl = await make_network("dl")
    alice = await make_member(dl)
    await make_thread(dl, alice, title="Budget", body="funding models")
    await catch_up(index_dir)
    page = await search.search("funding giraffes", network_ids=[dl.id])
    assert page.total == 1 and page.any_word


async def test_one_result_per_thread_and_summary_first(
    db: str, index_dir: Path, search: SearchService
) -> None:
    dl = await make_network("dl")
    fac = await make_member(dl, role=Role.FACILITATOR)
    thread = await make_thread(dl, fac, title="Data team", body="federated model")
    await make_reply(thread, fac, "federated again")
    await make_reply(thread, fac, "federated thrice")
    from forum.changes import record
    from forum.markdown import render
    from forum.threads.models import Summary
    from forum.timeutil import utcnow

    r = render("Three models: federated, hub and spoke, centralised.")
    summary = await Summary.create(
        thread=thread, author=fac, body="x", body_html=r.html, body_text=r.text, created_at=utcnow()
    )
    await record("summary", thread.id)
    await catch_up(index_dir)
    page = await search.search("federated", network_ids=[dl.id])
    assert page.total == 1
    assert page.hits[0].kind == "summary"
    assert page.hits[0].more == 3
    assert summary.id


@pytest.mark.parametrize(
    "text",
    [
        '"unbalanced',
        "((((",
        "network:",
        "author: OR OR -",
        "before:2026-13-45",
        "after:yesterday",
        "\x00\x01\x02",
        "x" * 10_000,
        "* ? ** a* *b ?c? " * 50,
        "kind:nonsense in:nowhere",
        "-",
        "OR",
        "title:hack body:x",
        "🙂" * 100,
    ],
)
async def test_hostile_queries_give_results_or_a_message(
    db: str, index_dir: Path, search: SearchService, text: str
) -> None:
    dl = await make_network("dl")
    await make_thread(dl, await make_member(dl))
    await catch_up(index_dir)
    page = await search.search(text, network_ids=[dl.id])
    assert page.total >= 0


async def test_deleted_posts_leave_the_index(
    db: str, index_dir: Path, search: SearchService
) -> None:
    dl = await make_network("dl")
    alice = await make_member(dl)
    thread = await make_thread(dl, alice)
    post = await make_reply(thread, alice, "ephemeralword")
    await catch_up(index_dir)
    assert (await search.search("ephemeralword", network_ids=[dl.id])).total == 1
    await threads.delete_post(viewer=await viewer_for(alice), post=post, network=dl)
    await catch_up(index_dir)
    assert (await search.search("ephemeralword", network_ids=[dl.id])).total == 0


async def test_rebuild_and_check(db: str, index_dir: Path, search: SearchService) -> None:
    dl = await make_network("dl")
    alice = await make_member(dl)
    await make_thread(dl, alice, body="rebuildword")
    await catch_up(index_dir)
    assert await check(index_dir) == []
    import shutil

    shutil.rmtree(index_dir)
    await catch_up(index_dir)  # a deleted folder: starts again from the log
    assert (await search.search("rebuildword", network_ids=[dl.id])).total == 1
    await rebuild(index_dir)
    assert (await search.search("rebuildword", network_ids=[dl.id])).total == 1
    assert await check(index_dir) == []


@pytest.mark.postgres
@pytest.mark.parametrize("db", ["postgres"], indirect=True)
@pytest.mark.parametrize("lands", ["while it waits", "after it gave up waiting"])
async def test_rebuild_never_starts_above_an_entry_still_in_flight(
    db: str, lands: str, index_dir: Path, search: SearchService
) -> None:
    """PostgreSQL hands out a change's id at insert: an edit's entry may commit after a
    newer reply's. A rebuild that read the tables then, and followed the log from the
    newest id, would never apply the edit. It waits for the log to settle; if it does not,
    it starts GAP_WAIT back, and the edit is applied when it lands."""
    dl = await make_network("dl")
    alice = await make_member(dl)
    thread = await make_thread(dl, alice, body="beforeword")
    post = await Post.filter(thread_id=thread.id).first()
    assert post is not None
    in_flight, rebuilt = asyncio.Event(), asyncio.Event()
    wait = 10.0 if lands == "while it waits" else 0.2

    async def elsewhere() -> None:  # made before the transaction: a connection of its own
        await in_flight.wait()
        await make_reply(thread, alice, body="newerword")  # a newer entry, committed first
        await rebuild(index_dir, settle_wait=wait)
        rebuilt.set()

    task = asyncio.create_task(elsewhere())
    async with in_transaction() as conn:
        await Post.filter(id=post.id).using_db(conn).update(body_text="inflightword")
        await changes.record("post", post.id, using=conn)  # the older id, still in flight
        in_flight.set()
        if lands == "while it waits":
            await asyncio.sleep(0.5)
            assert not rebuilt.is_set()  # waiting for the edit to land
        else:
            await rebuilt.wait()  # built without it
    await task
    if lands == "after it gave up waiting":
        assert (await search.search("inflightword", network_ids=[dl.id])).total == 0
        await catch_up(index_dir)
    for word in ("inflightword", "newerword"):
        assert (await search.search(word, network_ids=[dl.id])).total == 1, word
    assert (await search.search("beforeword", network_ids=[dl.id])).total == 0
    assert await check(index_dir) == []


async def _canary_world() -> tuple[Network, Network, User, Thread]:
    secret = await make_network("secret", visibility=Visibility.MEMBERS)
    public = await make_network("open")
    insider = await make_member(secret, await make_user("insider"))
    await make_member(public, insider)
    thread = await make_thread(secret, insider, title="Quokkacanary", body="quokkacanary text")
    return secret, public, insider, thread


async def test_visibility_change_is_reflected_at_once(
    db: str, index_dir: Path, search: SearchService
) -> None:
    from forum.networks import services as networks

    secret, _, _, _ = await _canary_world()
    await catch_up(index_dir)
    anonymous = await readable_network_ids(await viewer_for(None))
    assert (await search.search("quokkacanary", network_ids=anonymous)).total == 0
    await networks.set_visibility(network=secret, visibility=Visibility.PUBLIC)
    anonymous = await readable_network_ids(await viewer_for(None))
    assert (await search.search("quokkacanary", network_ids=anonymous)).total == 1
    await networks.set_visibility(network=secret, visibility=Visibility.MEMBERS)
    anonymous = await readable_network_ids(await viewer_for(None))
    assert (await search.search("quokkacanary", network_ids=anonymous)).total == 0


async def test_a_change_to_a_whole_network_is_read_through_it_and_written_in_parts(
    db: str,
    index_dir: Path,
    search: SearchService,
    count_queries: QueryCounter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A network's change (its slug edited, say) rewrites every document of it: read through
    the network, never as a list of its threads (at large scale more than the drivers'
    32,767 parameters), and written WRITE_MAX documents per Whoosh commit."""
    monkeypatch.setattr(indexer, "CHUNK", 2)
    monkeypatch.setattr(indexer, "WRITE_MAX", 3)
    dl = await make_network("dl")
    alice = await make_member(dl)
    fac = await make_member(dl, await make_user("fac"), role=Role.FACILITATOR)
    for i in range(10):
        thread = await make_thread(dl, alice, title=f"Wombatword {i}", body="wombatword")
        await make_reply(thread, alice, "wombatword again")
        await knowledge.write_summary(
            viewer=await viewer_for(fac), thread=thread, body="Wombatword summary."
        )
    await catch_up(index_dir)
    assert (await search.search("wombatword network:dl", network_ids=[dl.id])).total == 10
    await Network.filter(id=dl.id).update(slug="leaders")
    await changes.record("network", dl.id)
    count_queries.statements.clear()
    await catch_up(index_dir)
    widest = max(q.split(":")[0].count("?") + q.count("$") for q in count_queries.statements)
    assert widest <= indexer.CHUNK + 3, count_queries.statements
    assert (await search.search("wombatword network:dl", network_ids=[dl.id])).total == 0
    found = await search.search("wombatword network:leaders", network_ids=[dl.id])
    assert found.total == 10  # threads, each with its summary and two posts: all rewritten
    assert sum(1 + hit.more for hit in found.hits) == 30
    assert await check(index_dir) == []


async def test_losing_membership_hides_results_at_once(
    db: str, index_dir: Path, search: SearchService
) -> None:
    from forum.networks import services as networks

    secret, _, insider, _ = await _canary_world()
    await catch_up(index_dir)
    ids = await readable_network_ids(await viewer_for(insider))
    assert (await search.search("quokkacanary", network_ids=ids)).total == 1
    await networks.remove_membership(network=secret, user=insider)
    ids = await readable_network_ids(await viewer_for(insider))
    assert (await search.search("quokkacanary", network_ids=ids)).total == 0


async def test_moving_a_thread_moves_its_results(
    db: str, index_dir: Path, search: SearchService
) -> None:
    _, public, _, thread = await _canary_world()
    admin = await make_user("boss", is_admin=True)
    await catch_up(index_dir)
    anonymous = await readable_network_ids(await viewer_for(None))
    assert (await search.search("quokkacanary", network_ids=anonymous)).total == 0
    await curate.move_thread(viewer=await viewer_for(admin), thread=thread, to=public)
    await catch_up(index_dir)
    page = await search.search("quokkacanary network:open", network_ids=anonymous)
    assert page.total == 1


async def test_renaming_a_user_is_reflected_in_results(
    db: str, index_dir: Path, search: SearchService
) -> None:
    from forum.accounts import services as accounts

    _, public, insider, _ = await _canary_world()
    await make_thread(public, insider, title="Open", body="wombat things")
    await catch_up(index_dir)
    await accounts.update_profile(user=insider, display_name="Renamed Person")
    await catch_up(index_dir)
    page = await search.search("wombat", network_ids=[public.id])
    assert page.hits[0].author_name == "Renamed Person"
    assert (await search.search("renamed", network_ids=[public.id])).total == 1


async def test_did_you_mean_offers_only_words_the_viewer_may_see(
    db: str, index_dir: Path, search: SearchService
) -> None:
    _, public, insider, _ = await _canary_world()
    await make_thread(public, insider, title="Sandbox packages", body="sandboxes for packages")
    await catch_up(index_dir)
    anonymous = await readable_network_ids(await viewer_for(None))
    page = await search.search("packges", network_ids=anonymous)
    assert page.total == 0
    assert page.suggestion == "packages"
    leak = await search.search("quokkacanray", network_ids=anonymous)
    assert leak.total == 0 and leak.suggestion is None
    ids = await readable_network_ids(await viewer_for(insider))
    assert (await search.search("quokkacanray", network_ids=ids)).suggestion == "quokkacanary"


async def test_an_indexer_killed_mid_batch_catches_up(
    db: str, index_dir: Path, search: SearchService
) -> None:
    """A batch that never committed leaves the cursor where it was: nothing is lost."""
    from forum.search import index as search_index

    dl = await make_network("dl")
    alice = await make_member(dl)
    await make_thread(dl, alice, title="First", body="aardvark")
    await catch_up(index_dir)
    await make_thread(dl, alice, title="Second", body="aardvark again")

    def crash(*args: object, **kwargs: object) -> None:
        raise SystemExit("killed")

    original = search_index.write_batch
    import forum.search.indexer as indexer_module

    indexer_module.write_batch = crash  # type: ignore[assignment]
    try:
        with pytest.raises(SystemExit):
            await catch_up(index_dir)
    finally:
        indexer_module.write_batch = original  # type: ignore[assignment]
    assert (await search.search("aardvark", network_ids=[dl.id])).total == 1
    await catch_up(index_dir)
    assert (await search.search("aardvark", network_ids=[dl.id])).total == 2
    assert await check(index_dir) == []


async def test_a_corrupted_index_is_rebuilt_from_the_database(
    db: str, index_dir: Path, search: SearchService
) -> None:
    dl = await make_network("dl")
    alice = await make_member(dl)
    await make_thread(dl, alice, body="pangolin")
    await catch_up(index_dir)
    current = (index_dir / "CURRENT").read_text()
    for f in (index_dir / current).iterdir():
        f.write_bytes(b"garbage")
    page = await search.search("pangolin", network_ids=[dl.id])
    assert page.unavailable and page.total == 0
    await catch_up(index_dir)
    assert (await search.search("pangolin", network_ids=[dl.id])).total == 1


async def test_rebuild_swaps_while_searches_keep_working(
    db: str, index_dir: Path, search: SearchService
) -> None:
    dl = await make_network("dl")
    alice = await make_member(dl)
    await make_thread(dl, alice, body="okapi")
    await catch_up(index_dir)
    assert (await search.search("okapi", network_ids=[dl.id])).total == 1
    before = (index_dir / "CURRENT").read_text()
    await rebuild(index_dir)
    after = (index_dir / "CURRENT").read_text()
    assert before != after
    assert not (index_dir / before).exists()
    assert (await search.search("okapi", network_ids=[dl.id])).total == 1


async def test_a_brand_new_empty_index_answers_with_no_results(
    db: str, index_dir: Path, search: SearchService
) -> None:
    from forum.search.index import ensure_index

    ensure_index(index_dir)
    page = await search.search("anything", network_ids=[1])
    assert page.total == 0 and not page.unavailable


async def test_pruned_log_and_a_lagging_index_rebuilds_itself(
    db: str, index_dir: Path, search: SearchService
) -> None:
    from datetime import timedelta

    from forum.changes import Change, SearchCursor
    from forum.search.indexer import RETENTION, prune
    from forum.timeutil import utcnow

    dl = await make_network("dl")
    alice = await make_member(dl)
    await make_thread(dl, alice, body="axolotl")
    await catch_up(index_dir)
    # Everything applied by the only known index can go, but the newest entry: it says where
    # the log stands.
    newest = await Change.all().order_by("-id").first()
    assert newest is not None
    assert await prune() > 0
    assert [c.id for c in await Change.all()] == [newest.id]
    assert await prune() == 0
    # An index that has been away longer than the retention period...
    await make_thread(dl, alice, title="Later", body="axolotl later")
    await Change.all().update(created_at=utcnow() - RETENTION - timedelta(days=1))
    await SearchCursor.all().update(updated_at=utcnow() - RETENTION - timedelta(days=1))
    assert await prune() > 0
    # ...finds its history gone and rebuilds from the database.
    await catch_up(index_dir)
    assert (await search.search("axolotl", network_ids=[dl.id])).total == 2
    assert await check(index_dir) == []


async def test_pruning_deletes_in_batches_exactly_what_every_index_applied(
    db: str, index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from forum.changes import Change, SearchCursor
    from forum.search import indexer

    monkeypatch.setattr(indexer, "PRUNE_BATCH", 2)
    dl = await make_network("dl")
    alice = await make_member(dl)
    for i in range(4):
        await make_thread(dl, alice, title=f"Thread {i}")
    await catch_up(index_dir)
    applied = await Change.all().count()
    await make_thread(dl, alice, title="Not yet indexed")
    waiting = await Change.all().count() - applied
    assert await indexer.prune() == applied
    assert await Change.all().count() == waiting
    cursor = (await SearchCursor.exclude(name=indexer.PRUNED_MARK).first()).cursor
    assert await Change.filter(id__lte=cursor).count() == 0


def test_only_one_indexer_holds_a_folder(index_dir: Path) -> None:
    from forum.search.index import indexer_lock

    with indexer_lock(index_dir) as first:
        assert first
        with indexer_lock(index_dir) as second:
            assert not second
    with indexer_lock(index_dir) as again:
        assert again


async def test_an_index_of_another_schema_version_is_rebuilt(
    db: str, index_dir: Path, search: SearchService
) -> None:
    from forum.search.index import ensure_index

    dl = await make_network("dl")
    await make_thread(dl, await make_member(dl), body="tapir")
    await catch_up(index_dir)
    before = (index_dir / "CURRENT").read_text()
    _, ix = ensure_index(index_dir)
    writer = ix.writer()
    writer.update_document(doc_id="cursor", kind="cursor", cursor=999, version=1)
    writer.commit()
    await catch_up(index_dir)
    assert (index_dir / "CURRENT").read_text() != before
    assert (await search.search("tapir", network_ids=[dl.id])).total == 1


async def test_the_running_indexer_picks_up_new_posts_and_stops(
    db: str, index_dir: Path, search: SearchService
) -> None:
    import asyncio

    from forum.search.indexer import run

    dl = await make_network("dl")
    alice = await make_member(dl)
    stop = asyncio.Event()
    task = asyncio.create_task(run(index_dir, stop, interval=0.1))
    try:
        await make_thread(dl, alice, body="chinchilla")
        for _ in range(100):
            if (await search.search("chinchilla", network_ids=[dl.id])).total == 1:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the running indexer did not pick up the post")
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


def test_files_inside_a_segment_are_read_in_place_not_copied() -> None:
    """Whoosh's BufferFile copied the whole mapped file into a BytesIO (gigabytes for a large
    index, at every reader opened); patched, it reads the buffer in place."""
    from whoosh.filedb.structfile import BufferFile

    import forum.search  # noqa: F401 - applies the patches

    data = bytearray(b"abcdefghij" * 1000)
    f = BufferFile(memoryview(data), name="t")
    data[0:3] = b"XYZ"  # a copy would not see this
    assert f.read(5) == b"XYZde"
    f.seek(9995)
    assert f.read() == b"fghij" and f.tell() == 10000
    f.seek(-2, 2)
    assert f.read(10) == b"ij"
    assert f.get(3, 4) == b"defg"
    f.seek(0)
    assert f.read_byte() == ord("X")
    import pickle

    values = [{"block": i, "ids": list(range(i))} for i in (1, 5, 3000)]
    pickles = BufferFile(memoryview(b"".join(pickle.dumps(v) for v in values)), name="p")
    assert [pickles.read_pickle() for _ in values] == values  # the last > 1 KB: read again
    lines = BufferFile(memoryview(b"one\ntwo\n" + b"x" * 10000), name="l")
    assert lines.file.readline() == b"one\n" and lines.file.readline() == b"two\n"
    assert lines.file.readline() == b"x" * 10000 and lines.file.readline() == b""


def test_segments_remember_that_a_field_has_no_lengths(tmp_path: Path) -> None:
    # forum.search.patches: without it, every posting of an id field written to a segment
    # asks the filesystem whether a lengths column exists.
    from whoosh import index as whoosh_index

    from forum.search.schema import make_schema

    ix = whoosh_index.create_in(str(tmp_path), make_schema())
    writer = ix.writer()
    writer.add_document(doc_id="post:1", kind="post", body="hub and spoke teams")
    writer.commit()
    with ix.reader() as reader:
        perdoc = reader._perdoc
        storage = perdoc._storage
        asked: list[str] = []
        exists = storage.file_exists

        def counting(name: str) -> bool:
            asked.append(name)
            return bool(exists(name))

        storage.file_exists = counting
        lengths = [reader.doc_field_length(0, "doc_id") for _ in range(50)]
        assert lengths == [0] * 50
        assert len(asked) <= 1
        assert reader.doc_field_length(0, "body") == 3


async def test_results_come_best_first_not_in_index_order(
    db: str, index_dir: Path, search: SearchService
) -> None:
    # The weak match is indexed first (a lower document number) than the strong one.
    network = await make_network("dl")
    alice = await make_member(network)
    weak = await make_thread(network, alice, title="Budgets", body="A word on quokkas.")
    strong = await make_thread(
        network, alice, title="Quokkas, quokkas everywhere", body="Quokkas and more quokkas."
    )
    await catch_up(index_dir)
    page = await search.search("quokkas", network_ids=[network.id])
    assert [h.thread_id for h in page.hits] == [strong.id, weak.id]


@pytest.mark.parametrize("built", ["rebuilt", "appended"])
async def test_a_very_broad_query_searches_the_newest_part_and_says_so(
    db: str, index_dir: Path, search: SearchService, monkeypatch: pytest.MonkeyPatch, built: str
) -> None:
    """Past segments.BROAD estimated matches, a query runs on the newest part of each segment
    only (its cost then does not grow with the forum) and the result says from when: the
    start of a rebuilt segment (newest posts first), the end of one the indexer appended to."""
    from forum.search import segments
    from forum.search.index import Reader

    network = await make_network("dl")
    alice = await make_member(network)
    made = []
    for i in range(40):
        word = "zebrafinch" if i == 0 else "filler"
        made.append(
            await make_thread(network, alice, title=f"Quokka {i}", body=f"Quokka and {word}.")
        )
    other = await make_network("old")
    bob = await make_member(other)
    await make_thread(other, bob, title="Only here", body="Quokka in the other network.")
    await (rebuild(index_dir) if built == "rebuilt" else catch_up(index_dir))
    reader = Reader(index_dir)
    with reader.use() as searcher:
        leaves = [leaf for leaf, _ in searcher.subsearchers or [(searcher, 0)]]
        directions = {segments.segment_of(leaf.reader()).newest_first for leaf in leaves}
    reader.close()
    assert directions == {built == "rebuilt"}
    monkeypatch.setattr(segments, "BROAD", 10)
    monkeypatch.setattr(segments, "SMALL_SEGMENT", 0)
    page = await search.search("quokka", network_ids=[network.id], per_page=5)
    assert page.since is not None
    assert 5 <= page.total < 40
    newest = {t.id for t in made[-20:]}
    assert {h.thread_id for h in page.hits} <= newest
    # When the newest part cannot fill the page asked for, everything is searched.
    full = await search.search("quokka", network_ids=[network.id], per_page=5, page=8)
    assert full.since is None and full.total == 40
    # The estimate counts only what the viewer may read: one thread's network is not broad.
    mine = await search.search("quokka", network_ids=[other.id])
    assert mine.since is None and [h.title for h in mine.hits] == ["Only here"]
    # A narrow query still reaches the oldest thread, and says nothing of a window.
    narrow = await search.search("quokka zebrafinch", network_ids=[network.id])
    assert narrow.since is None and [h.thread_id for h in narrow.hits] == [made[0].id]
    # Below the threshold, everything is searched.
    monkeypatch.setattr(segments, "BROAD", 1000)
    whole = await search.search("quokka", network_ids=[network.id], per_page=50)
    assert whole.since is None and whole.total == 40


async def test_searches_take_turns_and_one_whose_asker_left_is_skipped(
    db: str, index_dir: Path, search: SearchService, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import threading

    from forum.search import execute
    from forum.search.results import Outcome

    network = await make_network("dl")
    alice = await make_member(network)
    await make_thread(network, alice, title="Records retention", body="Seven years.")
    await catch_up(index_dir)
    running, most, lock = 0, 0, threading.Lock()
    real_run = execute.run

    def counted_run(*args: object, **kwargs: object) -> Outcome:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            threading.Event().wait(0.05)  # long enough for the others to try to start
            return real_run(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(execute, "run", counted_run)
    pages = await asyncio.gather(
        *(search.search("retention", network_ids=[network.id]) for _ in range(4))
    )
    assert [p.total for p in pages] == [1, 1, 1, 1]
    assert most == 1  # one at a time

    async def gone() -> bool:
        return False

    page = await search.search("retention", network_ids=[network.id], still_wanted=gone)
    assert page.total == 0 and page.hits == []


# Bounded cost: the time budget, the caps of the query language, fair turns per client.


def _ticking_clock() -> Callable[[], float]:
    """A clock that moves on a second each time it is read."""
    ticks = itertools.count()
    return lambda: float(next(ticks))


async def test_a_search_out_of_time_gives_what_it_found_so_far_and_says_so(
    db: str, index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wherever the budget runs out (each call of the clock is a second here, so a budget
    of n seconds runs out at the n-th look), the search answers without failing, with what
    it had found: only matching, readable threads, and it says it stopped."""
    from forum.search import budget

    network = await make_network("dl")
    hidden = await make_network("hidden", visibility=Visibility.MEMBERS)
    alice = await make_member(network)
    await make_member(hidden, alice)
    for i in range(40):
        await make_thread(network, alice, title=f"Quokka sighting {i}", body="quokka habitat")
    await make_thread(hidden, alice, title="Quokka secret", body="quokka hidden")
    await catch_up(index_dir)
    ids = [network.id]
    service = SearchService(index_dir)
    try:
        whole = await service.search("quokka", network_ids=ids, per_page=5)
        assert whole.total == 40 and whole.stopped_after is None
        partial_with_hits = False
        for looks in range(1, 40):
            monkeypatch.setattr(budget, "clock", _ticking_clock())
            service.budget_seconds = looks - 0.5
            page = await service.search("quokka", network_ids=ids, per_page=5)
            monkeypatch.setattr(budget, "clock", __import__("time").monotonic)
            if page.stopped_after is None:
                assert page.total == 40
                continue
            assert page.total <= 40 and len(page.hits) <= 5
            assert all(h.title.startswith("Quokka sighting") for h in page.hits)
            partial_with_hits |= bool(page.hits)
        assert partial_with_hits
    finally:
        service.close()


async def test_every_costly_operator_is_capped_with_a_note(
    db: str, index_dir: Path, search: SearchService
) -> None:
    from whoosh import query as wq

    from forum.search.compile import Parsed, parse
    from forum.search.index import Reader

    network = await make_network("dl")
    alice = await make_member(network)
    words = ["data", "service", "team", "council", "sharing", "digital", "records"]
    words += ["model", "platform", "open"]
    await make_thread(network, alice, title="Data service", body=" ".join(words * 3))
    await catch_up(index_dir)

    def parsed(text: str) -> Parsed:
        with Reader(index_dir).use() as searcher:
            return parse(text, searcher)

    def count(q: wq.Query, kind: type) -> int:
        return int(isinstance(q, kind)) + sum(count(c, kind) for c in q.children())

    phrases = parsed(" ".join(f'"{a} {b}"' for a, b in itertools.pairwise(words)))
    assert sum(count(c, wq.Phrase) for c in phrases.clauses) <= 3 * 2
    assert any('"phrases"' in n and '"open"' not in n for n in phrases.notes)
    wild = parsed(" ".join(f"{w[:2]}*" for w in words) + " datab* servi* counc*")
    assert len(wild.clauses) <= 2
    assert any("at least 3 letters" in n and "da*" in n for n in wild.notes)
    assert any("wildcards" in n and "counc*" in n for n in wild.notes)
    ors = parsed(" OR ".join(words * 3))
    assert len(ors.clauses) == 1 and count(ors.clauses[0], wq.Term) <= 6 * 3
    assert any("OR" in n for n in ors.notes)
    many = parsed(" ".join(f"{w}s" for w in words * 2) + " " + "-".join(words * 20))
    assert len(many.clauses) <= 12
    assert any(n.startswith("Only the first 12 words") for n in many.notes)
    excluded = parsed("data " + " ".join(f"-{w}" for w in words[1:]))
    assert len(excluded.negatives) == 4
    assert any("excluded" in n for n in excluded.notes)
    long_phrase = parsed('"' + " ".join(words * 5) + '"')
    assert any("first 6 words" in n for n in long_phrase.notes)
    ops = parsed(" ".join(f"tag:t{i}" for i in range(20)) + " data")
    assert len(ops.required) == 8
    assert any("filters" in n for n in ops.notes)
    # Through the service too: the notes reach the page, a page beyond the last allowed
    # is the last allowed one, and it says so.
    page = await search.search(" OR ".join(words * 3), network_ids=[network.id], page=300)
    assert page.total == 1 and any("OR" in n for n in page.notes)
    assert any("first 50 pages" in n for n in page.notes)


async def test_wildcards_expand_only_to_words_the_viewer_may_read(
    db: str, index_dir: Path, search: SearchService
) -> None:
    """What a prefix expands to never depends on members-only words: sixty members-only
    words that sort first cannot crowd out the public one."""
    secret, public, insider, _ = await _canary_world()
    crowd = " ".join(f"zeb{a}{b}" for a in "abc" for b in "abcdefghijklmnopqrstu")
    await make_thread(secret, insider, title="Crowd", body=crowd)
    await make_thread(public, insider, title="Open thread", body="zebzz")
    await catch_up(index_dir)
    anonymous = await readable_network_ids(await viewer_for(None))
    page = await search.search("zeb*", network_ids=anonymous)
    assert [h.title for h in page.hits] == ["Open thread"]


async def test_did_you_mean_never_offers_a_members_only_word_whatever_the_query(
    db: str, index_dir: Path, search: SearchService
) -> None:
    """A canary word only in a members-only thread's title, body, tag and summary: no
    misspelling of it, alone, in an OR, beside an exclusion or a filter, or as another form
    of a public word, brings it (or anything else only members-only threads hold) into a
    suggestion, a note or a result for an outsider. Members still get their suggestion."""
    from forum.knowledge import services as knowledge_services

    secret = await make_network("secret", visibility=Visibility.MEMBERS)
    public = await make_network("open")
    insider = await make_member(secret, await make_user("insider"), role=Role.FACILITATOR)
    await make_member(public, insider)
    thread = await make_thread(
        secret,
        insider,
        title="Wombatcanary plans and quolleries",
        body="wombatcanary body",
        tags="wombatcanary",
    )
    await knowledge_services.write_summary(
        viewer=await viewer_for(insider), thread=thread, body="The wombatcanary summary."
    )
    await make_thread(public, insider, title="Sandbox packages", body="data packages quollery")
    await catch_up(index_dir)
    anonymous = await readable_network_ids(await viewer_for(None))
    for text in (
        "wombatcanery",
        "packges OR wombatcanery",
        "wombatcanery OR packages",
        "packages wombatcanery",
        "packages -wombatcanery wombatcanery",
        "tag:wombatcanery packages",
        "wombatcanery network:secret",
        "in:title wombatcanery OR data",
        "quolleris",  # "quolleries" shares its stem with the public "quollery"
        "data OR quolleris",
    ):
        page = await search.search(text, network_ids=anonymous)
        shown = " ".join([page.suggestion or "", *page.notes, *(h.title for h in page.hits)])
        assert "wombatcanary" not in shown.lower() and "quolleries" not in shown, text
    ids = await readable_network_ids(await viewer_for(insider))
    assert (await search.search("wombatcanery", network_ids=ids)).suggestion == "wombatcanary"
    assert (await search.search("packges", network_ids=anonymous)).suggestion == "packages"


async def test_one_clients_slow_searches_never_hold_another_clients_search(
    db: str, index_dir: Path, search: SearchService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Client A's searches run one at a time and a few wait; one more is refused with a
    clear message. Client B's search, asked while A's are running and waiting, is answered
    at once, not after A's."""
    import threading

    from forum.search import execute
    from forum.search.results import Outcome
    from forum.search.service import SearchRefused

    network = await make_network("dl")
    alice = await make_member(network)
    await make_thread(network, alice, title="Records retention", body="Seven years.")
    await catch_up(index_dir)
    release, started = threading.Event(), threading.Event()
    running: list[str] = []
    real_run = execute.run

    def run(searcher: object, text: str, **kwargs: object) -> Outcome:
        running.append(text)
        if text == "slow":
            started.set()
            release.wait(30)  # held until the test lets go (or fails)
        return real_run(searcher, text, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(execute, "run", run)
    ids = [network.id]
    slow = [
        asyncio.create_task(search.search("slow", network_ids=ids, client="10.0.0.1"))
        for _ in range(3)
    ]
    try:
        assert await asyncio.to_thread(started.wait, 10)
        with pytest.raises(SearchRefused, match="earlier searches are still running"):
            await search.search("slow", network_ids=ids, client="10.0.0.1")
        other = await asyncio.wait_for(
            search.search("retention", network_ids=ids, client="10.0.0.2"), timeout=10
        )
        assert other.total == 1
        assert running.count("slow") == 1  # A's others still wait their turn
    finally:
        release.set()
    assert [p.total for p in await asyncio.gather(*slow)] == [0, 0, 0]
    assert running.count("slow") == 3


async def test_searches_per_address_are_limited(
    db: str, index_dir: Path, search: SearchService
) -> None:
    from forum.ratelimit import LocalLimiter
    from forum.search.service import SearchRefused

    network = await make_network("dl")
    await make_thread(network, await make_member(network), title="Records retention")
    await catch_up(index_dir)
    search.limiter = LocalLimiter(3)  # three a minute (less the time the searches take)
    answered = 0
    with pytest.raises(SearchRefused, match="Too many searches from your address") as refused:
        for _ in range(4):
            await search.search("retention", network_ids=[network.id], client="10.0.0.1")
            answered += 1
    assert 1 <= answered <= 3 and refused.value.retry_after >= 1
    # Another address, and the forum's own searches (no client), are not held by it.
    await search.search("retention", network_ids=[network.id], client="10.0.0.2")
    await search.search("retention", network_ids=[network.id])
