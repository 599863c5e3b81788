"""The `koo` command: run the platform, single services, migrations and code generation."""

from __future__ import annotations

import importlib
import logging
import subprocess
import sys
from pathlib import Path

import click

from services.kit.roster import BY_NAME, PROCESSES
from services.kit.settings import default_data_dir


@click.group()
def cli() -> None:
    """Koo: a microblogging platform for India's languages."""


@cli.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=default_data_dir,
    show_default="~/.local/share/koo",
    help="Where the embedded PostgreSQL and Redis keep their data.",
)
@click.option("--only", multiple=True, help="Start only these processes (repeatable).")
@click.option(
    "--log-format",
    type=click.Choice(["auto", "console", "json"]),
    default="auto",
    envvar="KOO_LOG_FORMAT",
    show_default=True,
    help="The processes' logs: short coloured lines for a terminal, or JSON lines; auto: console on a TTY.",
)
def up(data_dir: Path, only: tuple[str, ...], log_format: str) -> None:
    """Start everything on this machine (embedded PostgreSQL/Redis unless KOO_*_URL are set)."""
    from koo_cli.up import run_up

    if log_format == "auto":
        log_format = "console" if sys.stdout.isatty() else "json"
    run_up(data_dir, only, log_format=log_format)


@cli.command()
@click.argument("name", type=click.Choice([p.name for p in PROCESSES]))
def serve(name: str) -> None:
    """Run one process (a service, the gateway or a worker), as Kubernetes does."""
    proc = BY_NAME[name]
    if not proc.available():
        raise click.ClickException(f"{name} is not part of this build")
    importlib.import_module(proc.module).main()


@cli.command()
def migrate() -> None:
    """Apply every service's migrations to KOO_DATABASE_URL."""
    from services.kit.migrations import upgrade_all
    from services.kit.settings import KitSettings, load_settings

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = load_settings(KitSettings)
    if not settings.database_url:
        raise click.ClickException("set KOO_DATABASE_URL (postgresql://...)")
    done = upgrade_all(settings.database_url)
    click.echo(f"migrated: {', '.join(done)}")


@cli.command()
def gen() -> None:
    """Regenerate gen/ (and gateway/descriptors.binpb) from protos/ with buf (lint first)."""
    root = Path(__file__).resolve().parent.parent
    # The gateway reads proto comments (OpenAPI descriptions) from a descriptor set with
    # source info; a unit test checks it matches gen/.
    descriptors = [
        "npx", "--no-install", "buf", "build", "--path", "protos/koo", "--exclude-imports",
        "--as-file-descriptor-set", "-o", "gateway/descriptors.binpb",
    ]  # fmt: skip
    for args in (["npx", "--no-install", "buf", "lint"], ["npx", "--no-install", "buf", "generate"], descriptors):
        result = subprocess.run(args, cwd=root, check=False)
        if result.returncode != 0:
            sys.exit(result.returncode)
    click.echo("gen/ is up to date")


def _register_bench_commands() -> None:
    from koo_cli.bench import bench
    from koo_cli.seed import seed

    cli.add_command(seed)
    cli.add_command(bench)


_register_bench_commands()


def _register_trust_commands() -> None:
    from koo_cli.trust import moderator, report

    cli.add_command(moderator)
    cli.add_command(report)


_register_trust_commands()


def _register_operator_commands() -> None:
    from koo_cli.operate import events, reconcile

    cli.add_command(events)
    cli.add_command(reconcile)


_register_operator_commands()


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
