"""Organisation pages, the organisation filter of a network's threads, and the list of every
network: none of them ever shows a members-only network's content to anyone outside it."""

from __future__ import annotations

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from forum.accounts.models import User
from forum.networks.models import Role, Visibility
from tests.conftest import QueryCounter
from tests.factories import (
    login,
    make_member,
    make_network,
    make_org,
    make_reply,
    make_thread,
    make_user,
)

CANARY = "Quokka canary"


def html(response: httpx.Response) -> HTMLParser:
    return HTMLParser(response.text)


async def _hackney() -> tuple[User, User]:
    """Hackney, with a public post and a members-only one (the canary) by the same person."""
    org = await make_org("Hackney")
    public = await make_network("open", name="Open Network")
    secret = await make_network("secret", name="Secret Network", visibility=Visibility.MEMBERS)
    amara = await make_user("amara", organisation=org, display_name="Amara Obi")
    await make_member(public, amara)
    await make_member(secret, amara, role=Role.FACILITATOR)
    gone = await make_user("gone", organisation=org, display_name="Gone Person")
    await User.filter(id=gone.id).update(is_active=False)
    await make_thread(public, amara, title="Open question", body="public words")
    thread = await make_thread(secret, amara, title=f"{CANARY} thread", body=f"{CANARY} body")
    await make_reply(thread, amara, f"{CANARY} reply")
    return amara, gone


async def test_an_organisation_page_lists_its_active_people_and_public_posts(
    db: str, client: httpx.AsyncClient
) -> None:
    amara, _ = await _hackney()
    outsider = await make_user("outsider")
    for who in ("anonymous", "outsider"):
        if who == "outsider":
            await login(client, outsider)
        response = await client.get(f"/o/{amara.organisation.slug}")  # type: ignore[union-attr]
        assert response.status_code == 200
        doc = html(response)
        assert doc.css_first("h1").text() == "Hackney"
        people = [a.text() for a in doc.css(".people-list a")]
        assert people == ["Amara Obi"]  # not the deactivated account
        assert doc.css_first(".people-list a").attributes["href"] == "/u/amara"
        assert "Open question" in response.text
        assert "canary" not in response.text.lower(), who
        assert "Secret" not in response.text, who


async def test_members_of_the_network_see_its_posts_on_the_organisation_page(
    db: str, client: httpx.AsyncClient
) -> None:
    amara, _ = await _hackney()
    await login(client, amara)
    response = await client.get(f"/o/{amara.organisation.slug}")  # type: ignore[union-attr]
    assert f"{CANARY} thread" in response.text and "Open question" in response.text


async def test_organisation_names_beside_authors_link_to_their_page(
    db: str, client: httpx.AsyncClient
) -> None:
    amara, _ = await _hackney()
    slug = amara.organisation.slug  # type: ignore[union-attr]
    for path in ("/n/open", "/u/amara"):
        doc = html(await client.get(path))
        assert doc.css_first(f"a[href='/o/{slug}']").text() == "Hackney", path


async def test_unknown_or_malformed_organisations_are_not_found(
    db: str, client: httpx.AsyncClient
) -> None:
    for slug in ("nowhere", "NOPE", "%00", "x" * 3000, "-x", "%ff"):
        assert (await client.get(f"/o/{slug}")).status_code == 404, slug


async def test_the_organisation_page_runs_a_fixed_number_of_queries(
    db: str, client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    amara, _ = await _hackney()
    org = amara.organisation
    assert org is not None
    count_queries.statements.clear()
    await client.get(f"/o/{org.slug}")
    few = count_queries.count
    network = await make_network()
    for _ in range(10):
        person = await make_member(network, await make_user(organisation=org))
        await make_thread(network, person, title="More words")
    count_queries.statements.clear()
    await client.get(f"/o/{org.slug}")
    assert count_queries.count == few


async def test_a_network_lists_threads_started_by_one_organisations_people(
    db: str, client: httpx.AsyncClient
) -> None:
    network = await make_network("dl")
    hackney, brent = await make_org("Hackney"), await make_org("Brent")
    ada = await make_member(network, await make_user(organisation=hackney))
    ben = await make_member(network, await make_user(organisation=brent))
    await make_thread(network, ada, title="Hackney asks")
    await make_thread(network, ben, title="Brent asks")
    thread = await make_thread(network, ada, title="Hackney asks again")
    await make_reply(thread, ben)  # a reply does not make it Brent's thread

    def titles(response: httpx.Response) -> list[str]:
        return [a.text() for a in html(response).css(".thread-title a")]

    assert titles(await client.get(f"/n/dl?org={hackney.slug}")) == [
        "Hackney asks again",
        "Hackney asks",
    ]
    doc = html(await client.get(f"/n/dl?org={brent.slug}"))
    assert [a.text() for a in doc.css(".thread-title a")] == ["Brent asks"]
    assert "selected" in doc.css_first(f"option[value={brent.slug}]").attributes
    # The summary filters keep the organisation.
    assert doc.css_first(f"a[href='/n/dl?show=summarised&org={brent.slug}']") is not None
    # An unknown or malformed organisation shows every thread.
    for value in ("nowhere", "\x00", "x" * 3000):
        response = await client.get("/n/dl", params={"org": value})
        assert response.status_code == 200 and len(titles(response)) == 3


async def test_the_list_of_networks_names_members_only_networks_only_to_signed_in_people(
    db: str, client: httpx.AsyncClient
) -> None:
    await _hackney()
    anonymous = await client.get("/networks")
    assert "Open Network" in anonymous.text
    assert "Secret Network" not in anonymous.text and "canary" not in anonymous.text.lower()
    await login(client, await make_user("outsider"))
    listing = await client.get("/networks")
    doc = html(listing)
    assert "Secret Network" in doc.text() and "Members only" in doc.text()
    assert "canary" not in listing.text.lower()
    cards = {c.css_first("h2").text().split("\n")[0].strip(): c for c in doc.css("li.card")}
    secret = next(c for name, c in cards.items() if name.startswith("Secret Network"))
    assert "thread" not in secret.text()  # no counts, no activity
    assert secret.css_first("a[href='/n/secret/request']") is not None
    opened = next(c for name, c in cards.items() if name.startswith("Open Network"))
    assert "1 thread" in opened.text()
    assert opened.css_first("form[action='/n/open/join']") is not None


async def test_the_list_of_networks_runs_a_fixed_number_of_queries(
    db: str, client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    await login(client, await make_user())
    await make_network()
    count_queries.statements.clear()
    await client.get("/networks")
    few = count_queries.count
    for i in range(10):
        network = await make_network(visibility=Visibility.MEMBERS if i % 2 else Visibility.PUBLIC)
        await make_thread(network, await make_member(network))
    count_queries.statements.clear()
    await client.get("/networks")
    assert count_queries.count == few
