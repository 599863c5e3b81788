"""`koo seed`: load a social graph into a running platform (resumable, with progress bars)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import click

from koo_cli.extras import require_extra
from services.kit.settings import default_data_dir


@click.command()
@click.option("--graph", "graph_name", type=click.Choice(["reed98", "powerlaw"]), required=True)
@click.option(
    "--edges",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="reed98: the socfb-Reed98 edge list (.edges, 0-based, or .mtx, 1-based).",
)
@click.option("--users", type=int, default=10_000, show_default=True, help="powerlaw: how many accounts.")
@click.option(
    "--posts-per-user",
    type=float,
    default=10,
    show_default=True,
    help="Posts per account (reed98: each account writes this many; powerlaw: the average).",
)
@click.option("--following", type=float, default=10, show_default=True, help="powerlaw: mean accounts followed.")
@click.option(
    "--active-users",
    type=int,
    default=100_000,
    show_default=True,
    help="powerlaw: accounts whose home timelines are built in Redis (the benchmark acts as them).",
)
@click.option(
    "--search-posts",
    type=int,
    default=1_000_000,
    show_default=True,
    help="powerlaw: index the newest N posts (and every profile) for search; 0 skips search.",
)
@click.option("--concurrency", type=int, default=16, show_default=True, help="reed98: API calls in flight.")
@click.option("--seed", type=int, default=42, show_default=True, help="Random seed (same seed, same data).")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=default_data_dir,
    show_default="~/.local/share/koo",
    help="The data folder of the running `koo up` (its runtime.json names the backends).",
)
@click.option("--progress/--no-progress", default=True, help="Show progress bars.")
def seed(
    graph_name: str,
    edges: Path | None,
    users: int,
    posts_per_user: float,
    following: float,
    active_users: int,
    search_posts: int,
    concurrency: int,
    seed: int,
    data_dir: Path,
    progress: bool,
) -> None:
    """Load a social graph into the running platform; rerun to resume.

    reed98 goes through the services' APIs (events, fanout and indexing as in production);
    powerlaw bulk-loads PostgreSQL and Redis directly (docs/performance.md says what that skips).
    """
    require_extra("bench", what="`koo seed`")
    from koo_cli.benchkit.runtime import find_runtime

    runtime = find_runtime(data_dir)
    started = time.monotonic()
    if graph_name == "reed98":
        from koo_cli.benchkit.api_seed import ApiPlan, ApiSeeder
        from koo_cli.benchkit.graphs import read_edge_list

        if edges is None:
            raise click.UsageError("--graph reed98 needs --edges PATH (socfb-Reed98.edges)")
        plan = ApiPlan(
            graph_name="reed98",
            graph=read_edge_list(edges),
            posts_per_user=int(posts_per_user),
            concurrency=concurrency,
            seed=seed,
            handle_prefix="reed",
        )
        api = ApiSeeder(runtime, plan, log=click.echo, progress_bar=progress)
        try:
            report = asyncio.run(api.run())
        finally:
            api.close()
    else:
        from koo_cli.benchkit.bulk import BulkSeeder, PowerlawPlan

        if users < 2:
            raise click.UsageError("--users must be at least 2")
        plan_pl = PowerlawPlan(
            users=users,
            posts=int(users * posts_per_user),
            mean_following=following,
            active_users=active_users,
            seed=seed,
        )
        bulk = BulkSeeder(runtime, plan_pl, log=click.echo, progress_bar=progress)
        try:
            report = bulk.run(search_limit=search_posts)
        finally:
            bulk.close()
    report["total_seconds"] = round(time.monotonic() - started, 1)
    click.echo(json.dumps(report, indent=2))
