"""Hostile content for the browser tests, and a script that writes it into the test database.

Every payload either calls alert() (a dialog the browser tests listen for) or loads something
from EVIL (a request to another origin, which they also catch), so if any of it ever runs or
loads, a test fails. Run before the server starts:

    python -m tests.browser.hostile     # with the FORUM_* variables of the test server
"""

from __future__ import annotations

import asyncio

EVIL = "https://evil.example"
# Away from the networks the screenshots show.
NETWORK = "digital-procurement"

ORGANISATION_SLUG = "mallory-borough"
ORGANISATION_NAME = 'Mallory <svg onload=alert("org")> "><img src=x onerror=alert("org2")>'
USERNAME = "mallory"
DISPLAY_NAME = "Mal <script>alert('name')</script><img src=x onerror=alert('name2')>"
THREAD_TITLE = "Mallory's <script>alert('title')</script> </title><img src=x onerror=alert(1)>"
THREAD_BODY = f"""Ordinary words first, so that search finds this: mallorypayload.

<script>alert("body")</script>
<img src=x onerror=alert("img")>
<svg onload=alert("svg")><circle r=1></svg>
<iframe src="{EVIL}/frame"></iframe>
<style>body {{ background: url({EVIL}/style) }}</style>
<div style="background-image: url({EVIL}/inline)">styled</div>
<a href="javascript:alert('raw-link')">raw link</a>

[a markdown link](javascript:alert('md-link'))
[another](JaVaScRiPt:alert('mixed-case'))
[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)
![an image](javascript:alert('img-src'))
[vbscript](vbscript:msgbox(1))
<https://example.org/"><script>alert('autolink')</script>>
`<script>alert("code")</script>`

```html
<script>alert("fenced")</script>
```

"><script>alert('attr')</script> '-alert('js-string')-' {{{{7*7}}}} ${{7*7}}
"""
# Markdown's own syntax for a link with a title and an attribute-breaking URL.
THREAD_REPLY = (
    'A reply with [a title](https://example.org "x\\" onmouseover=alert(\'title-attr\')") '
    "and @mallory mentioned <b onmouseover=alert('b')>bold</b>."
)
# What searching for them must show as text, never run.
SEARCH_QUERIES = (
    "\"><script>alert('q')</script>",
    "<img src=x onerror=alert('q2')> mallorypayload",
    "mallorypayload tag:\"><svg onload=alert('q3')>",
)
# Typed into the tags field: they must come out as slugs.
TAGS = "<script>alert('tag')</script>, onerror=alert(1)"


async def seed() -> None:
    """Write Mallory's organisation, account, membership and thread (services only)."""
    from forum import db
    from forum.accounts import services as accounts
    from forum.config import load_settings
    from forum.networks import services as networks
    from forum.networks.models import Network, Role
    from forum.permissions import viewer_for
    from forum.threads import services as threads

    settings = load_settings()
    async with db.opened(settings):
        organisation = await accounts.create_organisation(
            slug=ORGANISATION_SLUG, name=ORGANISATION_NAME, email_domains=["mallory.example"]
        )
        user = await accounts.create_user(
            username=USERNAME,
            email="mallory@mallory.example",
            display_name=DISPLAY_NAME,
            password="demo-password-2026",
            organisation=organisation,
        )
        network = await Network.get(slug=NETWORK)
        await networks.set_membership(network=network, user=user, role=Role.MEMBER)
        viewer = await viewer_for(user)
        thread = await threads.create_thread(
            viewer=viewer, network=network, title=THREAD_TITLE, body=THREAD_BODY
        )
        await threads.reply(viewer=viewer, thread=thread, body=THREAD_REPLY, parent_id=None)


if __name__ == "__main__":
    asyncio.run(seed())
