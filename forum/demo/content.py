"""The demo forum: organisations, people, networks and their conversations, as plain data.

`forum.demo.loader` writes this into an empty database. Everyone and everything here is
fictional: the boroughs are invented so that nothing reads as a real council's position.

Times are relative to the moment the demo is loaded, so the forum always looks alive: a thread
starts `days_ago` days before then, and each of its posts, edits and its summary come
`hours_after` hours after the thread started. Post bodies are Markdown, written here as indented
triple-quoted strings; the loader removes the common indentation (`inspect.cleandoc`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DemoOrganisation:
    slug: str
    name: str
    email_domains: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DemoUser:
    """A person; their email address is username@ the first domain of their organisation."""

    username: str
    display_name: str
    organisation: str  # slug
    is_admin: bool = False


@dataclass(frozen=True, slots=True)
class DemoNetwork:
    slug: str
    name: str
    description: str
    public: bool
    facilitator: str  # username
    members: tuple[str, ...]  # usernames, the facilitator aside


@dataclass(frozen=True, slots=True)
class DemoEdit:
    """A later version of a post, written `hours_after` the thread started."""

    hours_after: float
    body: str
    editor: str | None = None  # a facilitator tidying someone else's post; None: the author


@dataclass(frozen=True, slots=True)
class DemoPost:
    key: str  # names the post within its thread, for reply_to
    author: str
    hours_after: float
    body: str
    reply_to: str | None = None  # key of an earlier post; None: a reply to the thread
    edit: DemoEdit | None = None
    deleted_hours_after: float | None = None  # soft-deleted by its author at this time


@dataclass(frozen=True, slots=True)
class DemoEarlierSummary:
    """A first version of a summary, replaced later (so its history has two versions)."""

    hours_before: float  # before the summary's final version
    body: str


@dataclass(frozen=True, slots=True)
class DemoSummary:
    author: str  # the network's facilitator
    hours_after: float
    body: str
    earlier: DemoEarlierSummary | None = None


@dataclass(frozen=True, slots=True)
class DemoThread:
    """A thread; its first post (at hour 0, replying to nothing) opens it."""

    network: str  # slug
    title: str
    days_ago: float
    tags: tuple[str, ...]
    posts: tuple[DemoPost, ...]
    summary: DemoSummary | None = None
    pinned: bool = False
    locked: bool = False

    @property
    def author(self) -> str:
        return self.posts[0].author


# --- organisations -------------------------------------------------------------------------

ORGANISATIONS: tuple[DemoOrganisation, ...] = (
    DemoOrganisation("northwick", "London Borough of Northwick", ("northwick.example",)),
    DemoOrganisation("kingsmere", "Royal Borough of Kingsmere", ("kingsmere.example",)),
    DemoOrganisation("eastbrook", "London Borough of Eastbrook", ("eastbrook.example",)),
    DemoOrganisation("ravensford", "London Borough of Ravensford", ("ravensford.example",)),
    DemoOrganisation("highcombe", "London Borough of Highcombe", ("highcombe.example",)),
    DemoOrganisation("ashdown", "London Borough of Ashdown", ("ashdown.example",)),
    DemoOrganisation("wexbury", "London Borough of Wexbury", ("wexbury.example",)),
    DemoOrganisation("millbrook", "London Borough of Millbrook", ("millbrook.example",)),
    DemoOrganisation("carrowfield", "London Borough of Carrowfield", ("carrowfield.example",)),
    DemoOrganisation("fernleigh", "London Borough of Fernleigh", ("fernleigh.example",)),
    DemoOrganisation(
        "shared-digital",
        "Eastbrook and Millbrook Shared Digital Service",
        ("shared-digital.example",),
    ),
    DemoOrganisation(
        "loti", "London Office of Technology and Innovation (demo)", ("loti.example",)
    ),
)

# --- people --------------------------------------------------------------------------------

USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "Alex Morgan", "loti", is_admin=True),
    # Facilitators, one per network.
    DemoUser("priya.shah", "Priya Shah", "loti"),
    DemoUser("tomasz.nowak", "Tomasz Nowak", "kingsmere"),
    DemoUser("grace.adeyemi", "Grace Adeyemi", "loti"),
    DemoUser("helen.marsh", "Helen Marsh", "northwick"),
    DemoUser("dan.whitfield", "Dan Whitfield", "ravensford"),
    DemoUser("fiona.campbell", "Fiona Campbell", "loti"),
    DemoUser("amara.osei", "Amara Osei", "eastbrook"),
    # Members.
    DemoUser("james.oconnor", "James O'Connor", "northwick"),
    DemoUser("sarah.whitlock", "Sarah Whitlock", "kingsmere"),
    DemoUser("raj.patel", "Raj Patel", "eastbrook"),
    DemoUser("chloe.bennett", "Chloe Bennett", "highcombe"),
    DemoUser("kwame.mensah", "Kwame Mensah", "ravensford"),
    DemoUser("lucy.hargreaves", "Lucy Hargreaves", "ashdown"),
    DemoUser("mohammed.iqbal", "Mohammed Iqbal", "wexbury"),
    DemoUser("ellie.fraser", "Ellie Fraser", "millbrook"),
    DemoUser("gareth.lloyd", "Gareth Lloyd", "carrowfield"),
    DemoUser("nadia.rahman", "Nadia Rahman", "fernleigh"),
    DemoUser("ben.castellano", "Ben Castellano", "shared-digital"),
    DemoUser("zoe.kaminski", "Zoe Kaminski", "northwick"),
    DemoUser("olu.adebayo", "Olu Adebayo", "highcombe"),
    DemoUser("hannah.price", "Hannah Price", "kingsmere"),
    DemoUser("marcus.grant", "Marcus Grant", "wexbury"),
    DemoUser("siobhan.kelly", "Siobhan Kelly", "ashdown"),
)

# --- networks ------------------------------------------------------------------------------

NETWORKS: tuple[DemoNetwork, ...] = (
    DemoNetwork(
        slug="data-leaders",
        name="Data Leaders Network",
        description=(
            "For heads of data, chief data officers and anyone who **leads a data team** in a "
            "member organisation. We compare how data functions are set up, funded and "
            "governed, and share what has worked. Meets every other month."
        ),
        public=True,
        facilitator="priya.shah",
        members=(
            "james.oconnor",
            "sarah.whitlock",
            "kwame.mensah",
            "raj.patel",
            "marcus.grant",
            "siobhan.kelly",
        ),
    ),
    DemoNetwork(
        slug="data-science",
        name="Data Science Network",
        description=(
            "Analysts, data scientists and data engineers: code, methods, tooling and the "
            "practicalities of doing data science inside a council. Show and tell every third "
            "Wednesday."
        ),
        public=True,
        facilitator="tomasz.nowak",
        members=("raj.patel", "chloe.bennett", "kwame.mensah", "james.oconnor", "ben.castellano"),
    ),
    DemoNetwork(
        slug="digital-inclusion",
        name="Digital Inclusion",
        description=(
            "Officers tackling digital exclusion: device lending, data poverty, skills and "
            "assisted digital support. We share what works for residents who are offline or "
            "struggling online."
        ),
        public=True,
        facilitator="grace.adeyemi",
        members=("lucy.hargreaves", "zoe.kaminski", "hannah.price", "kwame.mensah"),
    ),
    DemoNetwork(
        slug="information-governance",
        name="Information Governance",
        description=(
            "Data protection officers, information governance leads and records managers. "
            "*Members only*, so that we can talk candidly about incidents, DPIAs and "
            "information requests."
        ),
        public=False,
        facilitator="helen.marsh",
        members=("mohammed.iqbal", "ellie.fraser", "siobhan.kelly", "james.oconnor"),
    ),
    DemoNetwork(
        slug="smart-streets",
        name="Smart Streets and IoT",
        description=(
            "Sensors, connected street furniture, LoRaWAN and the data they produce. Highways, "
            "parking, environment and IT colleagues comparing notes on what is worth deploying."
        ),
        public=True,
        facilitator="dan.whitfield",
        members=("gareth.lloyd", "olu.adebayo", "raj.patel", "ben.castellano"),
    ),
    DemoNetwork(
        slug="digital-procurement",
        name="Digital Procurement",
        description=(
            "Buying digital well: frameworks, contracts, open standards and exit plans. "
            "Commercial and digital colleagues together, so that what we buy works with what "
            "we already have."
        ),
        public=True,
        facilitator="fiona.campbell",
        members=("nadia.rahman", "marcus.grant", "gareth.lloyd", "ben.castellano"),
    ),
    DemoNetwork(
        slug="ai-ethics",
        name="AI and Data Ethics",
        description=(
            "Practitioners working through the ethics of AI and data in public services: "
            "impact assessments, transparency records and the public's voice. *Members only*, "
            "so that work in progress can be shared early."
        ),
        public=False,
        facilitator="amara.osei",
        members=(
            "sarah.whitlock",
            "chloe.bennett",
            "mohammed.iqbal",
            "zoe.kaminski",
            "siobhan.kelly",
        ),
    ),
)

# --- Data Leaders Network ------------------------------------------------------------------

DATA_TEAM_THREAD = "How is your data team structured?"

_DATA_LEADERS: tuple[DemoThread, ...] = (
    DemoThread(
        network="data-leaders",
        title="Start here: how this network works",
        days_ago=176,
        tags=("network-info",),
        pinned=True,
        posts=(
            DemoPost(
                "op",
                "priya.shah",
                0,
                """
                Welcome to the Data Leaders Network's space. This is where we carry on the
                conversation between our meetings.

                A few things that make it work:

                - **Ask early.** A half-formed question ("has anyone costed a data
                  platform?") gets better answers than a finished business case.
                - **Speak for your organisation, not your colleagues.** Say what your council
                  did; let other people speak for themselves.
                - **Chatham House by default.** Use what you learn here, but don't attribute it
                  outside the network without asking.
                - **Summaries.** When a thread reaches a conclusion I'll pin a short summary to
                  it, so that it ends up in the network's knowledge base.

                If you're new, reply here with your name, your organisation and one thing you're
                working on this quarter.
                """,
            ),
            DemoPost(
                "james",
                "james.oconnor",
                5,
                """
                James, Head of Data at Northwick. This quarter: making the case for a proper
                data function rather than analysts scattered across five directorates. Expect
                questions!
                """,
            ),
            DemoPost(
                "sarah",
                "sarah.whitlock",
                26,
                """
                Sarah, Chief Data Officer at Kingsmere. I'm refreshing our data strategy and
                trying to get our master data out of the spreadsheet it currently lives in.
                Happy to share how our hub and spoke model works with @james.oconnor.
                """,
            ),
            DemoPost(
                "kwame",
                "kwame.mensah",
                50,
                """
                Kwame, Business Intelligence Manager at Ravensford. This quarter is all about
                moving our reporting off an on-premises SQL Server that is older than some of
                my team.
                """,
            ),
            DemoPost(
                "priya",
                "priya.shah",
                52,
                """
                You're not alone, Kwame. @raj.patel went through the same migration at
                Eastbrook last year; worth a chat.
                """,
                reply_to="kwame",
            ),
        ),
    ),
    DemoThread(
        network="data-leaders",
        title=DATA_TEAM_THREAD,
        days_ago=64,
        tags=("data-teams", "operating-model", "data-strategy"),
        posts=(
            DemoPost(
                "op",
                "james.oconnor",
                0,
                """
                We're about to restructure at Northwick and I'd really value hearing how
                others have set things up.

                Where we are now:

                - about 14 analysts spread across children's services, adult social care,
                  housing and public health, each managed within their directorate;
                - a central BI team of four in ICT, mostly maintaining Power BI reports and
                  the warehouse;
                - nobody who owns data quality, metadata or the data side of information
                  governance.

                Our chief executive wants "a data function". The options on the table are
                **centralised** (everyone in one team), **hub and spoke** (a central hub with
                analysts embedded in directorates) or staying **federated** with common
                standards.

                Three questions for the network:

                1. Which model do you have, and would you choose it again?
                2. Where does the team report: ICT, strategy and policy, finance, or the chief
                   executive's office?
                3. What should be in the remit? Reporting and BI, data engineering, data
                   science, data governance, records management?
                """,
            ),
            DemoPost(
                "hub",
                "sarah.whitlock",
                3,
                """
                Kingsmere has run **hub and spoke** since our last restructure, so about two
                and a half years now.

                | | Hub (corporate data team) | Spokes (in directorates) |
                | --- | :---: | :---: |
                | Data platform and pipelines | yes | |
                | Governance, standards, metadata | yes | |
                | Data science and advanced analytics | yes | |
                | Operational reporting and dashboards | | yes |
                | Performance and statutory returns | | yes |
                | Line management | hub staff | directorate |

                The spoke analysts are managed in their directorates but have a dotted line to
                me for professional standards, tooling and training.

                **What I'd do differently:** give the dotted line some teeth from day one. For
                the first year it meant nothing: people were "in the data community" on paper
                only. What fixed it was a shared backlog that both sides prioritise, a
                fortnightly community of practice, and the hub having a say in spoke
                recruitment.
                """,
            ),
            DemoPost(
                "funding",
                "james.oconnor",
                5,
                """
                This is really helpful, thank you. How is the hub funded? Top-sliced from the
                corporate budget, or do you recharge directorates for project work?
                """,
                reply_to="hub",
            ),
            DemoPost(
                "topslice",
                "sarah.whitlock",
                20,
                """
                Top-sliced for the platform and governance work, which nobody would ever pay
                for directly. Project work (a new model, a new suite of dashboards) was
                recharged for the first year.

                We've since stopped recharging. Raising and chasing internal invoices cost
                more than it was worth, and it made directorates treat us as a supplier rather
                than a partner.
                """,
                reply_to="funding",
            ),
            DemoPost(
                "recharge",
                "kwame.mensah",
                23,
                """
                Same experience at Ravensford. Recharging killed demand from exactly the
                services that needed us most: the ones with the tightest budgets.
                @james.oconnor if you do recharge, cap it, or you'll end up working only for
                whoever has money left in the last quarter.
                """,
                reply_to="topslice",
            ),
            DemoPost(
                "central",
                "kwame.mensah",
                8,
                """
                We went the other way: **fully centralised**. Three years ago all 22 analysts
                moved into one team under the Director of Digital and Data.

                Good:

                - one toolset, one set of standards, one warehouse;
                - a real career path (analyst, senior, lead) instead of a one-person team in
                  each directorate;
                - cover for leave and vacancies, which used to be a crisis every August.

                Less good:

                - directorates felt they had lost "their" analysts, and for a while every
                  request became a ticket in a queue;
                - knowledge of the services drifted: a central analyst doesn't hear the
                  corridor conversations.

                We fixed the second half with **business partners**: a senior analyst named for
                each directorate, who attends its management team meetings.
                """,
                edit=DemoEdit(
                    30,
                    """
                    We went the other way: **fully centralised**. Three years ago all 24
                    analysts (including two apprentices) moved into one team under the Director
                    of Digital and Data.

                    Good:

                    - one toolset, one set of standards, one warehouse;
                    - a real career path (analyst, senior, lead) instead of a one-person team in
                      each directorate;
                    - cover for leave and vacancies, which used to be a crisis every August.

                    Less good:

                    - directorates felt they had lost "their" analysts, and for a while every
                      request became a ticket in a queue;
                    - knowledge of the services drifted: a central analyst doesn't hear the
                      corridor conversations.

                    We fixed the second half with **business partners**: a senior analyst named
                    for each directorate, who attends its management team meetings.
                    """,
                ),
            ),
            DemoPost(
                "federated",
                "raj.patel",
                10,
                """
                Eastbrook is the **federated** one, for the record. Each directorate owns its
                analysts and its budget; centrally there's a data governance board, a set of
                standards, and me with a small data engineering team.

                It works where data owners are strong. It fails quietly on duplication: last
                month I found **three** separate nightly extracts of the same social care case
                management tables, written by three teams, with three different definitions of
                an "open case".
                """,
                reply_to="central",
            ),
            DemoPost(
                "three-extracts",
                "kwame.mensah",
                12,
                """
                Three copies of one extract with three definitions of an open case is, almost
                word for word, the conversation that got us to centralise.
                """,
                reply_to="federated",
            ),
            DemoPost(
                "ownership",
                "raj.patel",
                26,
                """
                Fair! But I'm not convinced that centralising people fixes it. Definitions are
                an ownership problem, not an org chart problem.

                Where we're heading is **federated people, central platform**: teams stay in
                their directorates, but everyone builds on one platform with shared, documented
                datasets, and every definition has a named owner. @priya.shah I think this is
                close to what was described at the last meeting as "data mesh lite"?
                """,
                reply_to="three-extracts",
            ),
            DemoPost(
                "mesh",
                "priya.shah",
                30,
                """
                It is, although I'd avoid the word "mesh" in front of your finance director.
                The point that stuck with me was that shared datasets only stay shared if
                someone is paid to look after them.
                """,
                reply_to="ownership",
            ),
            DemoPost(
                "remit",
                "siobhan.kelly",
                28,
                """
                Please say something about information governance in whatever you write up.
                At Ashdown the data team and the DPO sat in different directorates for years,
                and the result was that DPIAs arrived after the pipeline had been built.

                Whatever the model, I'd argue the remit should include:

                - **data governance** (ownership, quality, metadata), hand in hand with IG;
                - **data engineering and the platform**;
                - **analytics and data science**;
                - and a clear line on who does **statutory returns**, because that is where
                  most analyst time quietly goes.

                @helen.marsh ran a session in the Information Governance network on bringing the
                DPO in at the design stage, which is worth asking her about.
                """,
            ),
            DemoPost(
                "reporting-line",
                "marcus.grant",
                70,
                """
                Late to this, but on reporting lines: our data team moved from ICT to the chief
                executive's office last year, and that has made more difference than the
                structure did. Sitting next to corporate strategy and performance means data is
                in the room when priorities are set, rather than being asked for afterwards.
                """,
            ),
        ),
        summary=DemoSummary(
            "priya.shah",
            160,
            earlier=DemoEarlierSummary(
                48,
                """
                **Three models came up: hub and spoke, centralised and federated.**

                - Fund the platform and data governance centrally.
                - Keep analysts close to services whatever the structure.
                - Shared datasets need named owners.
                """,
            ),
            body="""
            **Three models came up: hub and spoke, centralised and federated.** None is right
            everywhere; what matters is how the model is run.

            | Model | Example | Works well for | Watch out for |
            | --- | --- | --- | --- |
            | Hub and spoke | Kingsmere | standards, analysts near services | a weak dotted line |
            | Centralised | Ravensford | consistency, careers, cover | a ticket queue culture |
            | Federated | Eastbrook | strong data owners | duplicated definitions |

            What the network agreed on:

            - **Fund the platform and data governance centrally.** Recharging project work
              cost more to run than it raised, and put off the services with least money.
            - **Keep analysts close to services** whatever the structure: business partners
              (centralised) or a dotted line with a shared backlog (hub and spoke).
            - **Shared datasets need named owners**, and someone paid to look after them.
            - **The remit:** data governance, data engineering and the platform, analytics and
              data science, and a clear decision about statutory returns. Work with
              information governance from the design stage.
            - **The reporting line matters as much as the structure:** a team close to the
              chief executive's office is in the room when priorities are set.
            """,
        ),
    ),
    DemoThread(
        network="data-leaders",
        title="Recruiting data engineers on local government pay scales",
        days_ago=96,
        tags=("recruitment", "skills", "data-engineering"),
        posts=(
            DemoPost(
                "op",
                "kwame.mensah",
                0,
                """
                We've now advertised a senior data engineer post three times. Each time we get
                plenty of applicants who are strong on Power BI and light on engineering, and
                the two good candidates both turned us down for private sector offers about
                £15k higher.

                How are others handling this? Market supplements, apprenticeships, growing
                your own, sharing posts across boroughs?
                """,
            ),
            DemoPost(
                "grow",
                "raj.patel",
                4,
                """
                **Grow your own** has worked best for us. We took two BI developers who were
                curious about engineering, gave them protected time (a day a week for six
                months) and paid for training. Both now run pipelines in production.

                It's slower, and you need one experienced engineer for them to learn from. But
                they stay.
                """,
            ),
            DemoPost(
                "supplement",
                "marcus.grant",
                7,
                """
                For comparison: our last hire came in at the top of the grade plus a 10% market
                supplement, agreed as an exception by the chief executive. Happy to share the
                business case we wrote.
                """,
                deleted_hours_after=10,
            ),
            DemoPost(
                "review",
                "sarah.whitlock",
                8,
                """
                Was the supplement time-limited? Ours have to be reviewed every two years,
                which makes them a hard sell to candidates.
                """,
                reply_to="supplement",
            ),
            DemoPost(
                "taken-down",
                "marcus.grant",
                11,
                """
                I've taken my post down, sorry: the details haven't been shared internally yet.
                To answer your question, yes, it's reviewed every two years, and we tell
                candidates that up front. Happy to talk it through on a call.
                """,
                reply_to="review",
            ),
            DemoPost(
                "shared-posts",
                "priya.shah",
                30,
                """
                A few boroughs have asked LOTI about **shared posts**: one engineer employed by
                one borough and working across two or three. It has been done for other
                specialist roles. If you're interested, reply here and I'll bring the group
                together. @james.oconnor @kwame.mensah you both raised this at the last meeting.
                """,
            ),
            DemoPost(
                "interested",
                "james.oconnor",
                33,
                """
                Interested. Our problem is less the salary than not having enough engineering
                work to keep a senior person stretched full time.
                """,
                reply_to="shared-posts",
            ),
            DemoPost(
                "update",
                "kwame.mensah",
                200,
                """
                An update for anyone following: we've gone the grow-your-own route and two
                apprentices started last week. @raj.patel's team have kindly offered to pair
                with them once a fortnight.
                """,
            ),
        ),
    ),
    DemoThread(
        network="data-leaders",
        title="Measuring the value of a data team",
        days_ago=21,
        tags=("benefits", "data-teams"),
        posts=(
            DemoPost(
                "op",
                "sarah.whitlock",
                0,
                """
                Budget setting has started and I've been asked, again, to show the value of the
                data team in pounds. I can point to specific wins (the single person discount
                review paid for the team twice over) but a list of anecdotes feels thin.

                Has anyone found a way of measuring value that finance colleagues accept?
                """,
            ),
            DemoPost(
                "register",
                "priya.shah",
                6,
                """
                The approach that seems to land best is a simple **benefits register**, kept
                all year rather than reconstructed at budget time:

                - **cashable** savings and income, signed off by finance when they happen;
                - **non-cashable** benefits (staff hours saved, better targeting), with the
                  method written down;
                - **risks avoided** (statutory returns on time, fewer data incidents),
                  described rather than priced.

                Finance tend to trust the first kind only if they signed it off at the time.
                """,
            ),
            DemoPost(
                "sign-off",
                "sarah.whitlock",
                9,
                """
                "Signed off at the time" is the key part. We have the wins but not the sign-off.
                Lesson learnt for next year.
                """,
                reply_to="register",
            ),
            DemoPost(
                "time-to-answer",
                "james.oconnor",
                30,
                """
                We also track **time to answer**: how long from a question arriving to a
                decision-maker having the answer. It isn't money, but it went from weeks to days
                after the warehouse went in, and that story landed with councillors better than
                any savings figure.
                """,
            ),
            DemoPost(
                "measure",
                "marcus.grant",
                50,
                "Stealing this. Do you measure it properly or estimate it?",
                reply_to="time-to-answer",
            ),
            DemoPost(
                "request-log",
                "james.oconnor",
                52,
                """
                Properly, from the request log: the date a request was logged and the date it
                was closed. Crude, but consistent.
                """,
                reply_to="measure",
            ),
        ),
    ),
)

# --- Data Science Network ------------------------------------------------------------------

PACKAGES_THREAD = "Using open-source R and Python packages securely"

_DATA_SCIENCE: tuple[DemoThread, ...] = (
    DemoThread(
        network="data-science",
        title=PACKAGES_THREAD,
        days_ago=47,
        tags=("security", "python", "r", "open-source", "supply-chain"),
        posts=(
            DemoPost(
                "op",
                "chloe.bennett",
                0,
                """
                After a penetration test, our IT security team at Highcombe wants to stop
                analysts installing packages from PyPI and CRAN. I understand why: typosquatted
                packages and compromised maintainer accounts are real. But a blanket ban would
                stop most of our analysis overnight.

                How have others struck the balance? In particular:

                - Do you use **sandbox environments** for trying things out?
                - Do you run a **curated repository** of approved packages, and who approves
                  them?
                - How do you handle R packages that need compiling?
                - Has anyone been asked for an SBOM (software bill of materials)?
                """,
                edit=DemoEdit(
                    120,
                    """
                    After a penetration test, our IT security team at Highcombe wants to stop
                    analysts installing packages from PyPI and CRAN. I understand why:
                    typosquatted packages and compromised maintainer accounts are real. But a
                    blanket ban would stop most of our analysis overnight.

                    How have others struck the balance? In particular:

                    - Do you use **sandbox environments** for trying things out?
                    - Do you run a **curated repository** of approved packages, and who
                      approves them?
                    - How do you handle R packages that need compiling?
                    - Has anyone been asked for an SBOM (software bill of materials)?

                    **Update:** security have agreed a three-month pilot of the sandbox plus
                    internal mirror approach described below. Thank you all: this thread made
                    the case for us.
                    """,
                ),
            ),
            DemoPost(
                "tiers",
                "ben.castellano",
                3,
                """
                I'm on the security side of the fence at the shared digital service, so
                hopefully a useful counterweight! We settled on three tiers:

                1. **Sandbox.** A separate environment with no production data and no route
                   into the corporate network, where analysts can install anything from public
                   PyPI or CRAN to try it out.
                2. **Curated repository.** Anything that touches real data must come from our
                   internal mirror, which proxies PyPI and CRAN but only serves packages on the
                   allow-list.
                3. **Pinned production.** Deployed code pins exact versions *and* hashes, so
                   what runs is exactly what was reviewed.

                Pointing pip at the mirror is one file:

                ```ini
                # /etc/pip.conf
                [global]
                index-url = https://packages.shared-digital.example/pypi-approved/simple
                ```
                """,
            ),
            DemoPost(
                "who-approves",
                "chloe.bennett",
                5,
                """
                This is close to what I'd like to propose. Who decides what goes on the
                allow-list, and how long does it take?
                """,
                reply_to="tiers",
            ),
            DemoPost(
                "checklist",
                "ben.castellano",
                7,
                """
                A named reviewer in security and one in the data team, with a target of two
                working days. The checks are deliberately light:

                - actively maintained (a release in the last year, more than one maintainer);
                - a licence we can use;
                - no known vulnerabilities (`pip-audit`, or the OSV database for R);
                - the name is what the analyst meant to type, not a lookalike;
                - its dependencies checked the same way, which is where most of the effort
                  goes.

                The popular packages (pandas, numpy, the tidyverse and friends) were approved
                in bulk on day one.
                """,
                reply_to="who-approves",
            ),
            DemoPost(
                "sla",
                "raj.patel",
                9,
                """
                The target matters more than the checklist. At Eastbrook our first approval
                process took about three weeks per package, and analysts started emailing each
                other wheel files to get round it. Which is far worse than anything on PyPI.
                """,
                reply_to="checklist",
            ),
            DemoPost(
                "shadow-it",
                "tomasz.nowak",
                11,
                """
                Shadow IT by email attachment: the outcome nobody wants. A fast, boring approval
                process is a security control in its own right.
                """,
                reply_to="sla",
            ),
            DemoPost(
                "renv",
                "tomasz.nowak",
                20,
                """
                For R, Kingsmere runs **Posit Package Manager** as a curated CRAN mirror. It
                serves pre-built Linux binaries, which solves most of the compiling problem, and
                projects are pinned with renv:

                ```r
                options(repos = c(CRAN = "https://packages.kingsmere.example/cran/latest"))
                renv::init()      # a project library and renv.lock
                renv::snapshot()  # record exact versions after adding a package
                renv::restore()   # what colleagues and the server run
                ```

                Windows laptops get binaries from the same mirror.
                """,
            ),
            DemoPost(
                "lockfile",
                "kwame.mensah",
                26,
                """
                Does `renv.lock` go into version control with the code? We've had models break
                because the server quietly had a newer dplyr than the analyst's laptop.
                """,
                reply_to="renv",
            ),
            DemoPost(
                "always",
                "tomasz.nowak",
                28,
                """
                Always. `renv.lock` is committed with the code, and the server runs
                `renv::restore()` before anything else. That is exactly the failure it prevents.
                """,
                reply_to="lockfile",
            ),
            DemoPost(
                "sbom",
                "james.oconnor",
                50,
                """
                On SBOMs: our cyber team now asks for one for every model we deploy. It turned
                out to be cheap once the build was pinned. Our CI does this:

                ```bash
                pip-compile --generate-hashes requirements.in   # pin versions and hashes
                pip install --require-hashes -r requirements.txt
                pip-audit -r requirements.txt                   # fail on known CVEs
                cyclonedx-py requirements requirements.txt -o sbom.cdx.json
                ```

                The SBOM is stored with the release, so when the next big vulnerability lands
                we can answer "are we affected?" in minutes rather than days.
                """,
            ),
            DemoPost(
                "update-on-purpose",
                "ben.castellano",
                75,
                """
                One more thing: pinning is only half of it. A mirror full of pinned versions
                that never change quietly fills up with known vulnerabilities. Put a regular
                update in the calendar (we let Renovate open the pull requests) so that pins
                move forward on purpose.
                """,
            ),
        ),
        summary=DemoSummary(
            "tomasz.nowak",
            140,
            """
            **Using open-source packages securely: what the network recommends**

            1. **Sandbox environments** for exploration: install anything, but no production
               data and no route into the corporate network.
            2. **A curated repository of verified packages** for anything touching real data:
               an internal mirror (Nexus, Artifactory, or Posit Package Manager for CRAN) that
               serves only allow-listed packages.
            3. **A fast, light approval process**, with named reviewers in security and in the
               data team and a target of about two working days. Slow approval drives people to
               swap files by email, which is worse.
            4. **Pin versions and hashes** in production (`pip-compile --generate-hashes`,
               `renv.lock` in version control).
            5. **Produce an SBOM** for each deployment (CycloneDX) and scan dependencies for
               known vulnerabilities in CI.
            6. **Update on purpose**: schedule dependency updates so that pins don't rot.

            Thanks to @ben.castellano and @james.oconnor for the configuration examples.
            """,
        ),
    ),
    DemoThread(
        network="data-science",
        title="Record linkage without a shared identifier: what works?",
        days_ago=152,
        tags=("record-linkage", "python", "methods"),
        posts=(
            DemoPost(
                "op",
                "raj.patel",
                0,
                """
                We're trying to link council tax, housing benefit and adult social care records
                to build a single view of vulnerable residents. There's no shared identifier:
                UPRNs are patchy in social care, and names and dates of birth are messy.

                What are people using for probabilistic matching? We've been hand-rolling fuzzy
                matching in pandas and it's slow and hard to explain.
                """,
            ),
            DemoPost(
                "splink",
                "chloe.bennett",
                6,
                """
                **Splink** has been excellent for us. It's open source, from the Ministry of
                Justice, and implements the Fellegi-Sunter model with proper match weights, so
                you can explain *why* two records were linked. It runs on DuckDB locally, which
                handled two million records on a laptop.

                Its match weight charts went down well with our DPO, too.
                """,
            ),
            DemoPost(
                "labels",
                "raj.patel",
                8,
                "Did you label training data, or rely on expectation maximisation?",
                reply_to="splink",
            ),
            DemoPost(
                "em",
                "chloe.bennett",
                24,
                """
                EM for the parameters, then we hand-labelled about 500 pairs around the
                threshold to check precision and recall. That labelling taught us more about
                our data than anything else we did.
                """,
                reply_to="labels",
            ),
            DemoPost(
                "clean-first",
                "tomasz.nowak",
                30,
                """
                One tip: clean and standardise **before** linking. We got a bigger improvement
                from matching addresses to the local gazetteer to get UPRNs than from any amount
                of tuning the model.
                """,
            ),
            DemoPost(
                "gazetteer",
                "raj.patel",
                34,
                "@kwame.mensah did something similar with the gazetteer at Ravensford, I think?",
                reply_to="clean-first",
            ),
            DemoPost(
                "llpg",
                "kwame.mensah",
                48,
                """
                We did: matching to the LLPG put UPRNs on about 93% of adult social care
                addresses. The other 7% are mostly care homes and people of no fixed abode,
                who need a different approach anyway.
                """,
                reply_to="gazetteer",
            ),
        ),
    ),
    DemoThread(
        network="data-science",
        title="Show and tell: forecasting temporary accommodation demand",
        days_ago=88,
        tags=("forecasting", "housing", "show-and-tell"),
        posts=(
            DemoPost(
                "op",
                "kwame.mensah",
                0,
                """
                The slides from Wednesday's show and tell are on the network's shared drive.
                A quick write-up for anyone who missed it:

                - **Question:** how many households will be in temporary accommodation in six
                  months' time?
                - **Data:** weekly homelessness approaches, placements and moves into settled
                  housing, going back six years.
                - **Method:** we tried ARIMA, Prophet and a simple stock-and-flow model. The
                  stock-and-flow model won, mostly because housing officers could understand
                  and challenge it.
                - **Accuracy:** within 5% at three months, within 12% at six.

                The biggest lesson: the model was only trusted once housing colleagues could
                change the assumptions themselves ("what if move-on falls by 10%?"), so we
                built it as a small Shiny app.
                """,
            ),
            DemoPost(
                "share",
                "james.oconnor",
                5,
                """
                Really impressive. Would you be willing to share the code? Our housing director
                asked for exactly this last month.
                """,
            ),
            DemoPost(
                "synthetic",
                "kwame.mensah",
                7,
                """
                Yes, I'm tidying it up now. It'll go on the LOTI GitHub organisation with
                synthetic data, so that nothing sensitive goes out.
                """,
                reply_to="share",
            ),
            DemoPost(
                "review-offer",
                "tomasz.nowak",
                9,
                "Happy to review it before it goes public; shout when it's ready.",
                reply_to="synthetic",
            ),
            DemoPost(
                "explainable",
                "chloe.bennett",
                28,
                """
                Agree about explainability. We built a gradient-boosted model for a similar
                question, and it was slightly more accurate, but nobody used it because nobody
                could say *why* it predicted what it did.
                """,
            ),
            DemoPost(
                "published",
                "kwame.mensah",
                400,
                """
                The code is now up: look for `ta-forecast` in the LOTI organisation. Issues and
                pull requests welcome. Thanks @tomasz.nowak for the review.
                """,
            ),
        ),
    ),
    DemoThread(
        network="data-science",
        title="Which analytics platform are you on, and would you choose it again?",
        days_ago=13,
        tags=("platforms", "data-engineering"),
        posts=(
            DemoPost(
                "op",
                "james.oconnor",
                0,
                """
                Our warehouse contract ends next year, so we're reviewing platforms. A quick
                show of hands, please: what are you on, roughly what does it cost, and would you
                choose it again?

                Please be honest about the downsides; the vendors will tell us the upsides.
                """,
            ),
            DemoPost(
                "lakehouse",
                "raj.patel",
                4,
                """
                Eastbrook: a managed lakehouse on our main cloud provider. I'd choose it again
                for the engineering experience, but **not** without a firm grip on spending. Our
                first quarter's bill was nearly double the estimate because clusters were left
                running.

                Set up budget alerts and auto-termination on day one.
                """,
            ),
            DemoPost(
                "spark",
                "james.oconnor",
                6,
                """
                Auto-termination noted! Did your analysts have to learn Spark, or can they
                stay in SQL?
                """,
                reply_to="lakehouse",
            ),
            DemoPost(
                "sql",
                "raj.patel",
                9,
                """
                Mostly SQL. Only the engineers write Python or Spark, deliberately, so that the
                BI team didn't have to retrain.
                """,
                reply_to="spark",
            ),
            DemoPost(
                "postgres",
                "kwame.mensah",
                24,
                """
                Ravensford: plain PostgreSQL plus dbt, on two virtual machines. Unfashionable,
                cheap, and everyone understands it. At our volumes (tens of millions of rows,
                not billions) we haven't hit a limit yet.
                """,
            ),
            DemoPost(
                "dbt",
                "chloe.bennett",
                30,
                """
                +1 for dbt, whichever platform. Having transformations in version control, with
                tests, was the biggest single improvement to the reliability of our reporting.
                """,
                reply_to="postgres",
            ),
        ),
    ),
)

# --- Digital Inclusion ---------------------------------------------------------------------

_DIGITAL_INCLUSION: tuple[DemoThread, ...] = (
    DemoThread(
        network="digital-inclusion",
        title="Device lending schemes: what happens when a laptop isn't returned?",
        days_ago=142,
        tags=("device-lending", "libraries"),
        posts=(
            DemoPost(
                "op",
                "lucy.hargreaves",
                0,
                """
                Ashdown libraries have been lending laptops and tablets with data for eighteen
                months. Demand is high and most devices come back, but about 1 in 12 don't, and
                we have no agreed approach to chasing them.

                Do your schemes charge, block library cards, or write devices off? And how do
                you avoid putting off exactly the residents the scheme is for?
                """,
                edit=DemoEdit(
                    30,
                    """
                    Ashdown libraries have been lending laptops and tablets with data for
                    eighteen months. Demand is high and most devices come back, but about 1 in
                    15 don't (I'd miscounted: some "missing" devices were out for repair), and
                    we have no agreed approach to chasing them.

                    Do your schemes charge, block library cards, or write devices off? And how
                    do you avoid putting off exactly the residents the scheme is for?
                    """,
                ),
            ),
            DemoPost(
                "prevent",
                "grace.adeyemi",
                3,
                """
                This comes up at nearly every meeting, so it's a good one to settle. From what
                I've heard across boroughs, the schemes with the best return rates share three
                things:

                - a **loan agreement in plain English**, read through with the resident at the
                  desk;
                - **reminders by text**, not letter, a week before the due date;
                - a **friendly call** from a named person before anything formal happens.

                None of the schemes I know of charge residents for devices that don't come back.
                """,
            ),
            DemoPost(
                "friendly-call",
                "hannah.price",
                6,
                """
                Kingsmere does exactly this. The friendly call is what makes the difference:
                most late returns are people who've moved, are in hospital, or simply forgot.
                """,
                reply_to="prevent",
            ),
            DemoPost(
                "write-off",
                "zoe.kaminski",
                20,
                """
                We write devices off after three reminders. Chasing a £200 refurbished laptop
                through debt recovery costs more than the laptop, and it damages trust in the
                library service.

                What we *do* do is lock and wipe the device remotely after 60 days, through our
                device management tool, so that it isn't a data risk.
                """,
            ),
            DemoPost(
                "which-tool",
                "lucy.hargreaves",
                23,
                """
                Remote wipe is the piece we're missing. Which tool do you use, and did the
                devices need enrolling before they went out?
                """,
                reply_to="write-off",
            ),
            DemoPost(
                "enrol",
                "zoe.kaminski",
                26,
                """
                Enrolled at set-up, yes. IT use the same mobile device management as for staff
                phones, with the loan devices in a separate group under a much lighter policy.
                It can't be done retrospectively, so enrol before they go out.
                """,
                reply_to="which-tool",
            ),
            DemoPost(
                "settled",
                "lucy.hargreaves",
                28,
                """
                Thanks, that settles it. We'll enrol the next batch before they go out and talk
                to IT about the ones already on loan.
                """,
                reply_to="enrol",
            ),
        ),
        summary=DemoSummary(
            "grace.adeyemi",
            96,
            """
            **Unreturned devices: what works**

            - **Don't charge residents** or pass them to debt recovery: it costs more than the
              device and damages trust.
            - **Prevent rather than chase:** a plain-English loan agreement read through at the
              desk, text reminders, and a friendly call from a named person.
            - **Enrol every device** in mobile device management *before* it goes out, so that
              it can be locked and wiped after about 60 days.
            - **Write off** after three reminders, and record why: most losses are moves,
              hospital stays or forgetfulness.
            """,
        ),
    ),
    DemoThread(
        network="digital-inclusion",
        title="Mapping digital exclusion: which datasets do you use?",
        days_ago=72,
        tags=("data", "mapping"),
        posts=(
            DemoPost(
                "op",
                "zoe.kaminski",
                0,
                """
                We're trying to target our digital skills sessions better. @kwame.mensah
                mentioned that Ravensford has built a digital exclusion map. Which datasets are
                people combining?
                """,
            ),
            DemoPost(
                "index",
                "kwame.mensah",
                5,
                """
                Happy to share. Our index combines:

                | Dataset | Source | Geography |
                | --- | --- | --- |
                | Residents aged 65+ and 75+ | Census 2021 | Output area |
                | Disability | Census 2021 | Output area |
                | Income deprivation | Indices of Deprivation | LSOA |
                | Broadband speeds | Ofcom Connected Nations | Output area |
                | Library computer bookings | Our own data | Branch |

                Each is ranked and combined with equal weights; we're open about the weighting
                being a judgement.
                """,
            ),
            DemoPost(
                "dpo",
                "zoe.kaminski",
                8,
                """
                This is brilliant. Did using your own library bookings cause any problems with
                the DPO?
                """,
                reply_to="index",
            ),
            DemoPost(
                "aggregated",
                "kwame.mensah",
                10,
                """
                Only counts per branch per month leave the library system, so it was
                straightforward. A DPIA screening was enough.
                """,
                reply_to="dpo",
            ),
            DemoPost(
                "conversations",
                "grace.adeyemi",
                30,
                """
                Worth adding: a map tells you where to look, not who needs help. Every borough
                that has done this well paired it with conversations with community groups in
                the areas it highlighted. @hannah.price has a good example from Kingsmere.
                """,
            ),
            DemoPost(
                "barbers",
                "hannah.price",
                50,
                """
                Our map pointed at two estates. The tenants' association told us the real gap
                was older men who would never come to a library session, so we now run drop-ins
                at a barber's on one of the estates. Attendance has tripled.
                """,
                reply_to="conversations",
            ),
        ),
    ),
    DemoThread(
        network="digital-inclusion",
        title="Social tariffs: getting residents signed up",
        days_ago=16,
        tags=("social-tariffs", "data-poverty"),
        posts=(
            DemoPost(
                "op",
                "hannah.price",
                0,
                """
                Most of the residents we help are eligible for a broadband **social tariff**,
                and almost none of them are on one. The biggest barrier seems to be that people
                don't know they exist, closely followed by providers' sign-up processes.

                Has anyone run a campaign that worked? We're thinking of adding a prompt to our
                benefits and council tax support letters.
                """,
            ),
            DemoPost(
                "letters",
                "lucy.hargreaves",
                7,
                """
                We added a line to council tax support award letters, with a QR code linking
                to a page that lists the tariffs. Sign-ups are hard to measure, but the page
                gets steady traffic and library staff say people now arrive already asking
                about it.
                """,
            ),
            DemoPost(
                "list",
                "grace.adeyemi",
                26,
                """
                LOTI is putting together a list of social tariffs, their eligibility rules and
                how to apply, updated monthly, so that each borough doesn't have to keep its
                own. I'll share it here when it's ready. If you've found mistakes in providers'
                own eligibility information, please reply with them.
                """,
            ),
            DemoPost(
                "flat-numbers",
                "zoe.kaminski",
                30,
                """
                One to add: at least one provider's form rejects addresses with the flat number
                in a separate field, which catches out a lot of our residents.
                """,
                reply_to="list",
            ),
            DemoPost(
                "raise-it",
                "grace.adeyemi",
                34,
                "Thank you, noted. I'll raise it with them directly.",
                reply_to="flat-numbers",
            ),
        ),
    ),
)

# --- Information Governance (members only) ----------------------------------------------------

_INFORMATION_GOVERNANCE: tuple[DemoThread, ...] = (
    DemoThread(
        network="information-governance",
        title="DPIA templates: shared library",
        days_ago=163,
        tags=("dpia", "templates"),
        pinned=True,
        posts=(
            DemoPost(
                "op",
                "helen.marsh",
                0,
                """
                As agreed at the last meeting, this thread collects the DPIA templates that
                members are happy to share. Please reply with:

                - what the template is for (general, screening, a particular kind of
                  processing);
                - whether your legal team has reviewed it;
                - where it is on the network's shared drive.

                I'll keep this thread pinned so that it's easy to find.
                """,
            ),
            DemoPost(
                "screening",
                "mohammed.iqbal",
                4,
                """
                Wexbury's **screening questionnaire** is on the shared drive under
                *DPIA / Wexbury*. Twelve questions; if any answer is yes, a full DPIA follows.
                Reviewed by legal last year.
                """,
            ),
            DemoPost(
                "full",
                "siobhan.kelly",
                26,
                """
                Ashdown's full DPIA template is there too. It has a section on **automated
                decision-making** that we added after a project to prioritise housing repairs,
                which may be useful to the AI and Data Ethics network as well.
                """,
            ),
            DemoPost(
                "cross-post",
                "helen.marsh",
                28,
                """
                Thank you, Siobhan. I'll pass a pointer to @amara.osei for the AI and Data
                Ethics network.
                """,
                reply_to="full",
            ),
            DemoPost(
                "joint",
                "ellie.fraser",
                75,
                """
                Millbrook's template for **data sharing DPIAs** (where we're one of several
                controllers) is now up. It's long, but it saves arguments later about who is
                responsible for what.
                """,
            ),
        ),
    ),
    DemoThread(
        network="information-governance",
        title="Data sharing agreements with the NHS: how long do yours take?",
        days_ago=104,
        tags=("data-sharing", "health"),
        posts=(
            DemoPost(
                "op",
                "mohammed.iqbal",
                0,
                """
                We've been trying to agree a data sharing agreement with our local NHS trust
                for a joint hospital discharge project for **seven months**. Every draft goes
                through three IG teams and comes back with new comments.

                Is this normal? Has anyone found a way to speed it up?
                """,
            ),
            DemoPost(
                "approach",
                "helen.marsh",
                3,
                """
                Sadly, seven months isn't unusual. What helped us at Northwick:

                1. Start from the **integrated care board's** standard template rather than
                   our own: the NHS side are far happier amending their own document.
                2. Agree the **lawful bases** first, in a one-page note, before anyone drafts
                   the full agreement.
                3. Put the three IG leads on **one call** rather than passing drafts around by
                   email.

                Our last agreement took ten weeks this way.
                """,
            ),
            DemoPost(
                "caldicott",
                "mohammed.iqbal",
                5,
                """
                One call with all three IG leads is so obvious that I'm embarrassed we haven't
                tried it. Did you need the Caldicott Guardian involved early too?
                """,
                reply_to="approach",
            ),
            DemoPost(
                "yes-early",
                "helen.marsh",
                7,
                """
                Yes, for anything involving care records. Theirs is the sign-off that stalls at
                the end if they haven't seen it before.
                """,
                reply_to="caldicott",
            ),
            DemoPost(
                "technical",
                "ellie.fraser",
                22,
                """
                Something that caught us out: agreeing the data sharing agreement is not the
                same as agreeing the **technical** route for the data. Ours was signed and then
                took another two months, because nobody had agreed how the files would actually
                be transferred.
                """,
            ),
            DemoPost(
                "annex",
                "siobhan.kelly",
                26,
                """
                Same here. We now attach a short technical annex to every agreement: transfer
                method, format, frequency, retention and deletion.
                """,
                reply_to="technical",
            ),
            DemoPost(
                "update",
                "mohammed.iqbal",
                200,
                """
                Update: the three-way call happened last week and we now have an agreed draft.
                The sticking point turned out to be a single paragraph on retention. I've put
                the one-page lawful basis note we used on the shared drive.
                """,
                edit=DemoEdit(
                    203,
                    """
                    Update: the three-way call happened last week and we now have an agreed
                    draft. The sticking point turned out to be a single paragraph on retention.
                    I've put the one-page lawful basis note we used on the shared drive, under
                    *Data sharing / Wexbury*.

                    *Facilitator's note: I've added where to find the note. Helen*
                    """,
                    editor="helen.marsh",
                ),
            ),
        ),
        summary=DemoSummary(
            "helen.marsh",
            230,
            """
            **Speeding up data sharing agreements with the NHS**

            - Start from the NHS partner's or the ICB's standard template, not the council's.
            - Agree the lawful bases in a one-page note before drafting the full agreement.
            - Get every IG lead on one call rather than circulating drafts by email, and
              involve the Caldicott Guardian early for anything touching care records.
            - Attach a **technical annex** (transfer method, format, frequency, retention and
              deletion) so that the agreement can be used the day it is signed.

            Members who worked this way report agreements in about ten weeks rather than six
            months or more.
            """,
        ),
    ),
    DemoThread(
        network="information-governance",
        title="Subject access requests involving CCTV and body-worn video",
        days_ago=33,
        tags=("subject-access", "cctv", "redaction"),
        posts=(
            DemoPost(
                "op",
                "ellie.fraser",
                0,
                """
                We're receiving more subject access requests for CCTV and for body-worn camera
                footage from our enforcement officers, and redacting third parties from video
                is eating the team's time. A single 20-minute clip took an officer most of a
                day.

                What are others doing? Is anyone using automated redaction software, and is it
                good enough?
                """,
            ),
            DemoPost(
                "trial",
                "siobhan.kelly",
                6,
                """
                We trialled two automated redaction tools. Both were good at faces and poor at
                reflections, screens and anything partly hidden, so every clip still needs a
                person to check it frame by frame at the end. It roughly halved the time
                rather than removing it.

                Worth it at volume; at a handful of requests a month, probably not.
                """,
            ),
            DemoPost(
                "tool-dpia",
                "ellie.fraser",
                9,
                """
                Halving it would still help a lot. Did you do a DPIA for the tool itself? It
                processes exactly the third-party data we're trying to protect.
                """,
                reply_to="trial",
            ),
            DemoPost(
                "on-premises",
                "siobhan.kelly",
                11,
                """
                We did, and insisted on processing on our own premises: nothing goes to the
                supplier's cloud. That ruled out one of the two tools.
                """,
                reply_to="tool-dpia",
            ),
            DemoPost(
                "narrow",
                "helen.marsh",
                30,
                """
                Don't forget you can talk to the requester. Often they want one incident, not
                twenty minutes of footage. A quick call to narrow the request down to the moment
                that matters is fine, as long as you don't make it a condition of responding.
                """,
            ),
            DemoPost(
                "retention",
                "james.oconnor",
                50,
                """
                Worth recording, too: if you log what requesters actually wanted, you'll have
                the evidence to set more sensible retention periods for the footage.
                """,
                reply_to="narrow",
            ),
        ),
    ),
)

# --- Smart Streets and IoT -----------------------------------------------------------------

_SMART_STREETS: tuple[DemoThread, ...] = (
    DemoThread(
        network="smart-streets",
        title="LoRaWAN gateways: our own network or a shared one?",
        days_ago=133,
        tags=("lorawan", "connectivity"),
        posts=(
            DemoPost(
                "op",
                "gareth.lloyd",
                0,
                """
                Carrowfield wants to grow from a handful of sensors (gully levels, bin fill
                levels) to a few hundred. Before we buy more gateways: are people running their
                own LoRaWAN network, using a commercial one, or sharing with neighbouring
                boroughs?
                """,
            ),
            DemoPost(
                "own",
                "dan.whitfield",
                4,
                """
                Ravensford runs its own: 14 gateways on council buildings and lamp columns,
                with the network server hosted by a supplier. Honestly, the gateways were the
                easy part. The work is in:

                - **site access:** getting permission for roofs took longer than installing;
                - **backhaul:** some sites have no wired connection, so we pay for mobile data;
                - **ownership:** who fixes a gateway at 5pm on a Friday?
                """,
            ),
            DemoPost(
                "friday",
                "gareth.lloyd",
                6,
                """
                Who *does* fix it on a Friday? That's exactly what our IT team asked, and I
                couldn't answer.
                """,
                reply_to="own",
            ),
            DemoPost(
                "raci",
                "dan.whitfield",
                8,
                """
                For us, the highways contractor, through a change to their maintenance
                contract. IT own the network server and the security side; highways own the
                hardware on the street. Writing that down in a RACI saved a lot of arguments.
                """,
                reply_to="friday",
            ),
            DemoPost(
                "commercial",
                "olu.adebayo",
                30,
                """
                Highcombe uses a commercial network, for exactly the reasons Dan lists. We pay
                per device per year, which is predictable, and the coverage was already there.
                The downside is that we don't control where coverage improves next.
                """,
            ),
            DemoPost(
                "api",
                "raj.patel",
                36,
                """
                From the data side: whichever you choose, make sure you can get the raw
                payloads out through an API, not just the supplier's dashboard. We nearly
                signed a deal where the data could only be exported as CSV, by hand.
                """,
                reply_to="commercial",
            ),
            DemoPost(
                "keys",
                "ben.castellano",
                60,
                """
                If you share gateways with neighbouring boroughs, agree up front whose network
                server the devices join and how keys are managed. LoRaWAN traffic is encrypted
                end to end, but the application keys have to live somewhere, and someone has to
                be accountable for them.
                """,
            ),
        ),
        summary=DemoSummary(
            "dan.whitfield",
            100,
            """
            **Our own, commercial or shared LoRaWAN?**

            | Option | Suits | Main costs |
            | --- | --- | --- |
            | Own gateways | many devices, sites you control | site access, backhaul, upkeep |
            | Commercial network | a few hundred devices, a quick start | per-device fees |
            | Shared with neighbours | boroughs planning together | agreeing who owns what |

            Whichever you choose:

            - write down who maintains the hardware and who owns the network server and its
              security (a RACI);
            - make sure the raw data can be taken out through an API;
            - decide where application keys are kept and who is accountable for them.
            """,
        ),
    ),
    DemoThread(
        network="smart-streets",
        title="Air quality sensors: are low-cost sensors good enough?",
        days_ago=60,
        tags=("air-quality", "sensors"),
        posts=(
            DemoPost(
                "op",
                "olu.adebayo",
                0,
                """
                Councillors want an air quality sensor outside every primary school. The
                reference-grade monitors we use for statutory reporting cost tens of thousands
                each, so this means low-cost sensors.

                Has anyone deployed low-cost sensors at scale? How did you deal with accuracy,
                and how did you present the data publicly?
                """,
            ),
            DemoPost(
                "forty",
                "dan.whitfield",
                5,
                """
                We have forty of them. The short version: good for **trends and comparisons**,
                not for telling a parent that their child's school breaches a legal limit.

                We co-located three sensors with our reference monitor for a month to calibrate
                them, and we re-check every six months, because they drift.
                """,
            ),
            DemoPost(
                "explain",
                "olu.adebayo",
                7,
                """
                How did you explain that on the public dashboard without it sounding like we
                don't trust our own data?
                """,
                reply_to="forty",
            ),
            DemoPost(
                "bands",
                "dan.whitfield",
                10,
                """
                We show bands (low, moderate, high) rather than exact readings, with a short
                plain-English note on accuracy. Our comms team helped with the wording; it's on
                our open data site if you want to borrow it.
                """,
                reply_to="explain",
            ),
            DemoPost(
                "power",
                "gareth.lloyd",
                48,
                """
                Check for power at each site early. Half our school sites had no accessible
                supply, so we ended up with solar units: fine in summer, patchy in December.
                """,
            ),
            DemoPost(
                "calibration",
                "raj.patel",
                72,
                """
                If the data goes on an open data portal, publish the calibration method with
                it. A journalist compared our low-cost readings with the reference monitor
                without it, and it wasn't a fun week.
                """,
            ),
        ),
    ),
    DemoThread(
        network="smart-streets",
        title="A security baseline for IoT devices on the street",
        days_ago=8,
        tags=("security", "iot"),
        posts=(
            DemoPost(
                "op",
                "ben.castellano",
                0,
                """
                We're drafting a minimum security baseline for any connected device installed
                on the street, so that every project doesn't reinvent it. First draft:

                1. No default or shared passwords; credentials unique to each device.
                2. Firmware can be updated remotely, and the supplier commits to providing
                   updates for the device's lifetime.
                3. A published way to report vulnerabilities.
                4. No management ports open to the internet.
                5. Data encrypted in transit, and a clear answer on where it is stored.

                These follow the UK's product security rules for consumer devices, applied to
                what we buy. What's missing?
                """,
            ),
            DemoPost(
                "decommission",
                "dan.whitfield",
                5,
                """
                **Decommissioning**: what happens to keys and data when a device comes off the
                street. We found old sensors in a depot still holding Wi-Fi credentials.
                """,
            ),
            DemoPost(
                "added",
                "ben.castellano",
                8,
                "Good catch. Added as number 6.",
                reply_to="decommission",
            ),
            DemoPost(
                "tamper",
                "olu.adebayo",
                26,
                """
                Physical tamper evidence for anything at street level. Our parking sensors were
                opened with a screwdriver within a week.
                """,
            ),
            DemoPost(
                "tenders",
                "gareth.lloyd",
                50,
                """
                Could this go to the Digital Procurement network too? If it's a standard clause
                in tenders, suppliers will start meeting it without being asked.
                @fiona.campbell
                """,
            ),
        ),
    ),
)

# --- Digital Procurement -------------------------------------------------------------------

_DIGITAL_PROCUREMENT: tuple[DemoThread, ...] = (
    DemoThread(
        network="digital-procurement",
        title="Joint procurement of a case management system: expressions of interest",
        days_ago=172,
        tags=("joint-procurement", "case-management"),
        locked=True,
        posts=(
            DemoPost(
                "op",
                "fiona.campbell",
                0,
                """
                Several boroughs have asked about procuring a children's social care case
                management system together. If your organisation would like to take part in
                early market engagement, please reply here by the end of the month.
                """,
                edit=DemoEdit(
                    700,
                    """
                    Several boroughs have asked about procuring a children's social care case
                    management system together. If your organisation would like to take part in
                    early market engagement, please reply here by the end of the month.

                    **Update:** expressions of interest are now closed, thank you. Six boroughs
                    are taking part, and the working group will report back at network
                    meetings. I've locked this thread.
                    """,
                ),
            ),
            DemoPost(
                "wexbury",
                "marcus.grant",
                20,
                """
                Wexbury would like to take part. Our current contract ends in just over two
                years, which should line up.
                """,
            ),
            DemoPost(
                "practitioners",
                "nadia.rahman",
                26,
                """
                Fernleigh too. Could the working group include a social worker from each
                borough, not only commissioners and IT?
                """,
            ),
            DemoPost(
                "panel",
                "fiona.campbell",
                30,
                "Yes, absolutely: practitioners will sit on the evaluation panel.",
                reply_to="practitioners",
            ),
            DemoPost(
                "observer",
                "gareth.lloyd",
                100,
                """
                Carrowfield is interested but can't commit until our budget is set. Could we
                join as an observer for now?
                """,
            ),
            DemoPost(
                "welcome",
                "fiona.campbell",
                104,
                "Of course: observers are welcome.",
                reply_to="observer",
            ),
        ),
    ),
    DemoThread(
        network="digital-procurement",
        title="The Procurement Act: what has changed in practice?",
        days_ago=112,
        tags=("procurement-act", "regulations"),
        posts=(
            DemoPost(
                "op",
                "nadia.rahman",
                0,
                """
                Now that the Procurement Act is in force, I'd like to compare notes on what has
                actually changed for digital buying. At Fernleigh, the biggest changes so far:

                - the **competitive flexible procedure** lets us design a process around a
                  complex service instead of forcing it into the old restricted procedure;
                - many more **notices**, including at contract award and during the contract;
                - **debarment** checks on suppliers as a new step.

                What are others finding?
                """,
            ),
            DemoPost(
                "flexible",
                "fiona.campbell",
                3,
                """
                The flexible procedure is the big opportunity for digital. Used well, it means
                we can include a discovery phase, or a demonstration with real users, in the
                evaluation, which the old rules made awkward.

                Used badly, it's just a longer procurement. Keep the stages few and say up
                front what each one tests.
                """,
            ),
            DemoPost(
                "example",
                "marcus.grant",
                6,
                """
                Has anyone actually run a competitive flexible procedure yet? I'd love to see a
                real example of the stages.
                """,
                reply_to="flexible",
            ),
            DemoPost(
                "repairs",
                "nadia.rahman",
                9,
                """
                We're halfway through one for a housing repairs system: selection, then a
                written proposal, then a demonstration in which tenants score usability
                alongside officers. Happy to present it at the next meeting.
                """,
                reply_to="example",
            ),
            DemoPost(
                "agenda",
                "fiona.campbell",
                11,
                "Yes please, Nadia. I'll put it on the agenda.",
                reply_to="repairs",
            ),
            DemoPost(
                "notices",
                "marcus.grant",
                26,
                """
                The notices are the biggest change in workload for us. Our contracts team has
                had to learn the new central platform, and every contract over the threshold
                now needs a contract details notice and, later, published performance against
                its key performance indicators. That's a lot more admin for a small team.
                """,
            ),
            DemoPost(
                "kpis",
                "gareth.lloyd",
                30,
                """
                Same here. Our contract management was never set up to record KPIs in a way
                that could be published.
                """,
                reply_to="notices",
            ),
            DemoPost(
                "cyber",
                "ben.castellano",
                50,
                """
                One for the security people: put the cyber security questions into supplier
                assessment early. The Act doesn't change that, but the new procedures make it
                easier to test properly in a demonstration rather than on paper.
                """,
            ),
        ),
        summary=DemoSummary(
            "fiona.campbell",
            300,
            """
            **The Procurement Act in practice: early lessons from members**

            - **Competitive flexible procedure:** the big opportunity for digital. Use it to
              test with real users (demonstrations, discovery), but keep the stages few and say
              up front what each one tests. Fernleigh is presenting a worked example.
            - **Notices and transparency:** expect more admin. Contract details notices and
              published KPI performance need contract management set up to capture the data.
            - **Debarment checks:** a new step at selection; add it to your checklist.
            - **Security:** test suppliers' cyber security in a demonstration, not only on
              paper.
            """,
        ),
    ),
    DemoThread(
        network="digital-procurement",
        title="Exit clauses and data portability in SaaS contracts",
        days_ago=44,
        tags=("contracts", "data-portability", "saas"),
        posts=(
            DemoPost(
                "op",
                "marcus.grant",
                0,
                """
                We're about to renew the contract for our customer relationship management
                system (software as a service), and I've realised that the current contract
                says almost nothing about getting our data back at the end. What do people put
                in as standard?
                """,
            ),
            DemoPost(
                "clauses",
                "fiona.campbell",
                4,
                """
                LOTI has a draft set of clauses. The ones that matter most:

                | Clause | What it should say |
                | --- | --- |
                | Data ownership | All data we put in, and data derived from it, is ours |
                | Export format | A full export in an open, documented format, at any time |
                | Exit assistance | Help to migrate, at agreed rates, for a set period |
                | Deletion | Certified deletion after exit, by a set date |
                | Notice | Advance notice of changes to the export route or API |

                The export-at-any-time clause is the one suppliers push back on most, and the
                one to hold firmest on.
                """,
            ),
            DemoPost(
                "data-model",
                "nadia.rahman",
                8,
                """
                Add **documentation of the data model**. An export we can't interpret is barely
                better than no export at all.
                """,
                reply_to="clauses",
            ),
            DemoPost(
                "added",
                "fiona.campbell",
                10,
                "Good point: added to the draft.",
                reply_to="data-model",
            ),
            DemoPost(
                "test-export",
                "ben.castellano",
                30,
                """
                Test the export before signing, not at exit. We asked one supplier for a sample
                export during evaluation and found that attachments weren't included at all.
                """,
            ),
            DemoPost(
                "criteria",
                "marcus.grant",
                34,
                "That's going into our evaluation criteria. Thank you.",
                reply_to="test-export",
            ),
        ),
    ),
)

# --- AI and Data Ethics (members only) ---------------------------------------------------------

_AI_ETHICS: tuple[DemoThread, ...] = (
    DemoThread(
        network="ai-ethics",
        title="Algorithmic Transparency Recording Standard: has anyone published a record?",
        days_ago=127,
        tags=("transparency", "atrs"),
        posts=(
            DemoPost(
                "op",
                "chloe.bennett",
                0,
                """
                We're close to deploying a model that helps prioritise housing disrepair
                inspections, and I'd like to publish an Algorithmic Transparency Recording
                Standard record for it. Has anyone in local government done one? How much
                detail did you include?
                """,
            ),
            DemoPost(
                "tips",
                "amara.osei",
                6,
                """
                We published one for our school places forecasting tool. Some tips:

                - Write the short **tier 1** summary for residents first, and test it on
                  someone outside the team.
                - In **tier 2**, be specific about the human decision the tool supports, and
                  about what it doesn't decide.
                - Say how people can challenge a decision.

                It took about three days' work, most of it agreeing the wording.
                """,
            ),
            DemoPost(
                "legal",
                "chloe.bennett",
                9,
                "Three days is much less than I'd feared. Did legal need to review it?",
                reply_to="tips",
            ),
            DemoPost(
                "clearer",
                "amara.osei",
                12,
                """
                They did, and their main change was to make it **clearer**, not more cautious,
                which surprised everyone.
                """,
                reply_to="legal",
            ),
            DemoPost(
                "dpia",
                "siobhan.kelly",
                28,
                """
                The record and your DPIA should tell the same story. We reused large parts of
                the DPIA's description of the processing, which saved time and kept the two
                consistent.
                """,
            ),
            DemoPost(
                "ownership",
                "sarah.whitlock",
                50,
                """
                We published ours last month. Honestly, the most useful effect was internal:
                writing it forced us to decide who owns the model once the project team has
                moved on.
                """,
            ),
        ),
    ),
    DemoThread(
        network="ai-ethics",
        title="Generative AI policies: what are you allowing staff to use?",
        days_ago=77,
        tags=("generative-ai", "policy"),
        posts=(
            DemoPost(
                "op",
                "sarah.whitlock",
                0,
                """
                Kingsmere's current position on generative AI tools is "don't", which everyone
                knows is being ignored. We're rewriting the policy and I'd like to know where
                others have landed:

                - Which tools are allowed, if any?
                - What data may be put into them?
                - Who approves new uses?
                """,
            ),
            DemoPost(
                "one-page",
                "amara.osei",
                5,
                """
                Eastbrook allows the AI assistant that came with our office software licence,
                because it keeps data within our own tenancy, and nothing else for council
                data. The policy fits on one page:

                1. **No personal or sensitive data** in any tool outside our tenancy.
                2. **A person checks everything** before it's used or sent.
                3. **Say when you've used it** in anything published or sent to residents.
                4. New uses involving residents' data go to the **data ethics panel** first.
                """,
            ),
            DemoPost(
                "resistance",
                "sarah.whitlock",
                8,
                """
                One page is the goal. How did you land the "say when you've used it" rule? I
                can imagine some resistance.
                """,
                reply_to="one-page",
            ),
            DemoPost(
                "proportionate",
                "amara.osei",
                10,
                """
                There was some. What helped was making it proportionate: a draft email doesn't
                need a label; a consultation summary or a letter to a resident does.
                """,
                reply_to="resistance",
            ),
            DemoPost(
                "panel",
                "zoe.kaminski",
                14,
                """
                That matters to residents, too. Our residents' panel said they didn't mind AI
                being used; they minded not being told.
                """,
                reply_to="proportionate",
            ),
            DemoPost(
                "using-building",
                "chloe.bennett",
                30,
                """
                From the data science side: please distinguish **using** a chatbot from
                **building** something on a model. Our first policy treated them the same, so a
                tool summarising public planning documents went through the same approval as
                staff drafting an email with a chatbot.
                """,
            ),
            DemoPost(
                "ig-checks",
                "siobhan.kelly",
                34,
                """
                And they need different IG checks. Building something usually needs a DPIA;
                using an approved tool within the policy usually doesn't.
                """,
                reply_to="using-building",
            ),
            DemoPost(
                "transcription",
                "mohammed.iqbal",
                60,
                """
                Does anyone's policy cover **meeting transcription**? It's the use we see
                growing fastest, and it records people who haven't agreed to anything.
                """,
            ),
            DemoPost(
                "transcription-rules",
                "amara.osei",
                64,
                """
                Ours does now: transcription only when everyone in the meeting is told at the
                start, never in meetings with residents without their explicit agreement, and
                transcripts kept no longer than the minutes.
                """,
                reply_to="transcription",
            ),
        ),
        # Written before the questions about transcription: the demo's stale summary.
        summary=DemoSummary(
            "amara.osei",
            50,
            """
            **Generative AI policies: where members have landed**

            - **Allow approved tools** that keep data within your organisation's tenancy;
              banning everything just moves the use out of sight.
            - **No personal or sensitive data** in tools outside the tenancy.
            - **A person checks everything** before it's used.
            - **Be open, proportionately:** label AI use in anything published or sent to
              residents, not in every draft email.
            - **Using is not building:** staff using an approved tool need a policy; building a
              service on a model needs a DPIA and the ethics panel.
            """,
        ),
    ),
    DemoThread(
        network="ai-ethics",
        title="Involving residents in decisions about predictive tools",
        days_ago=4.5,
        tags=("engagement", "predictive-analytics"),
        posts=(
            DemoPost(
                "op",
                "zoe.kaminski",
                0,
                """
                Northwick is considering a predictive model to identify families who might
                benefit from early help. Before anything is built, we want residents to shape
                whether and how it's used, not just be told afterwards.

                Has anyone run a residents' panel or citizens' jury on something like this?
                What worked, and what would you avoid?
                """,
            ),
            DemoPost(
                "citizens-panel",
                "amara.osei",
                3,
                """
                Eastbrook ran a small citizens' panel (16 residents over three evenings) on
                using data to target support. What worked:

                - **Real examples** rather than principles: "should we use school attendance
                  data to offer a family support?"
                - An **independent facilitator**, so the council wasn't marking its own
                  homework.
                - **Paying participants** for their time, which widened who took part.

                What to avoid: presenting the model as already decided. People can tell.
                """,
            ),
            DemoPost(
                "paying",
                "zoe.kaminski",
                5,
                """
                Paying participants is something I'll need to make a case for. Did you get any
                pushback?
                """,
                reply_to="citizens-panel",
            ),
            DemoPost(
                "same-rate",
                "amara.osei",
                7,
                """
                A little. Paying the same rate as for our other lived-experience work settled
                it.
                """,
                reply_to="paying",
            ),
            DemoPost(
                "dpo-early",
                "mohammed.iqbal",
                26,
                """
                Please involve your DPO early. A panel's conclusions may shape your lawful basis
                and the DPIA, and it's much easier if the IG team hears them first hand.
                @siobhan.kelly and I would be happy to share what we learnt.
                """,
            ),
        ),
    ),
)

THREADS: tuple[DemoThread, ...] = (
    *_DATA_LEADERS,
    *_DATA_SCIENCE,
    *_DIGITAL_INCLUSION,
    *_INFORMATION_GOVERNANCE,
    *_SMART_STREETS,
    *_DIGITAL_PROCUREMENT,
    *_AI_ETHICS,
)


@dataclass(frozen=True, slots=True)
class DemoFlag:
    """A member's open flag on a post, for the facilitators' queue."""

    thread: str  # the thread's title
    post: str  # the post's key in that thread
    reporter: str
    reason: str  # a FlagReason value
    note: str = ""


FLAGS: tuple[DemoFlag, ...] = (
    DemoFlag(
        DATA_TEAM_THREAD,
        "reporting-line",
        "kwame.mensah",
        "off-topic",
        "Reporting lines are a big topic of their own: could this be its own thread?",
    ),
)


@dataclass(frozen=True, slots=True)
class DemoRequest:
    """A waiting request to join a members-only network, for its facilitator to decide."""

    username: str
    network: str  # slug
    message: str


REQUESTS: tuple[DemoRequest, ...] = (
    DemoRequest(
        "kwame.mensah",
        "information-governance",
        "I'm setting up our data sharing agreements register and would value the DPOs' view.",
    ),
)
