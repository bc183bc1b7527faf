"""Questions a running batch asks the person at the terminal (`yolobatch run --ask`)."""

from __future__ import annotations

import asyncio
import functools

from yolobatch.cli.common import console
from yolobatch.terminal import safe


def _questions(progress: dict) -> list[tuple[str, str, str | None]]:
    """(job id, "company" | "config", the step's reason) for every restaurant waiting for an answer."""
    found = []
    for job in progress["jobs"]:
        for number, kind in (("3", "company"), ("5", "config")):
            step = job.get("steps", {}).get(number)
            if step and step["status"] == "action_required":
                found.append((job["job_id"], kind, step["reason"]))
    return found


async def _ask(client, store, question: tuple[str, str, str | None]) -> None:
    from rich.prompt import Prompt

    from yolobatch.engine.contracts import Approval, CompanyChoice
    from yolobatch.service.control import DecisionRejected, approve_config, choose_company

    job_id, kind, reason = question
    job = await asyncio.to_thread(store.job, job_id)

    async def ask(question: str, **options: str) -> str:
        return await asyncio.to_thread(functools.partial(Prompt.ask, question, console=console, **options))

    try:
        if kind == "company":
            candidates = await asyncio.to_thread(store.candidates, job_id)
            console.print(f"\n[bold]{safe(job.restaurant_name)}[/]: {safe(reason)}")
            for index, c in enumerate(candidates[:9], start=1):
                where = c.get("address") or ""
                line = f"  {index}. {c['name']} ({c['number']}) score {c['score']:.0f} · {where}"
                console.print(safe(line))
            answer = await ask(
                "Number to choose, [s]earch again, [m]anual entry, [n]o company, Enter to leave"
            )
            choice = None
            if answer.isdigit() and 1 <= int(answer) <= len(candidates[:9]):
                choice = CompanyChoice("choose", number=candidates[int(answer) - 1]["number"], actor="cli")
            elif answer.lower() == "s":
                name = await ask("Search for name", default=job.restaurant_name)
                city = await ask("City", default=(job.input or {}).get("city") or "")
                choice = CompanyChoice(
                    "retry_search", terms={"name": name, "city": city or None}, actor="cli"
                )
            elif answer.lower() == "m":
                person = await ask("Contact person")
                legal = await ask("Legal name", default="")
                details = {"contact_person": person, "legal_name": legal or None}
                choice = CompanyChoice("manual", details=details, actor="cli")
            elif answer.lower() == "n":
                choice = CompanyChoice("no_company", actor="cli")
            if choice is not None:
                console.print(safe(await choose_company(client, store, job_id, choice)))
        else:
            review = await asyncio.to_thread(store.config_review, job_id) or {}
            config = review.get("config", {})
            console.print(f"\n[bold]{safe(job.restaurant_name)}[/]: {safe(reason)}")
            account, website = config.get("account", {}), config.get("website", {})
            console.print(safe(f"  owner {account.get('email')} · phone {account.get('phone')}"))
            colours = f"{website.get('primaryColor')}/{website.get('secondaryColor')}"
            console.print(safe(f"  colours {colours} ({website.get('theme')})"))
            for warning in review.get("warnings", []):
                console.print(f"  [yellow]⚠ {safe(str(warning))}[/]")
            answer = await ask("[a]pprove, [e]mail to set, Enter to leave")
            if answer.lower() == "e":
                email = await ask("Owner email")
                changes = {"account.email": email, "onboarding.userEmail": email}
                await asyncio.to_thread(store.edit_config, job_id, changes, "cli")
                answer = "a"
            if answer.lower() == "a":
                console.print(safe(await approve_config(client, store, job_id, Approval(actor="cli"))))
    except (DecisionRejected, ValueError) as exc:
        console.print(f"[red]{safe(str(exc))}[/]")
