"""The smefin command."""

from __future__ import annotations

import os
import secrets
import signal
import time
from pathlib import Path

import typer

from services.cli import stack as stack_mod
from services.cli.credit_cmds import credit_app
from services.cli.demo import demo_present, load_demo
from services.cli.generate import generate
from services.cli.upload import upload as upload_command
from shared.settings import VAR_DIR

app = typer.Typer(help="smefin: SME financing from e-commerce sales data.", no_args_is_help=True)
ADMIN_KEY_FILE = VAR_DIR / "admin_key"
DEMO_STATE_FILE = VAR_DIR / "demo.json"
app.command()(generate)
app.add_typer(credit_app, name="credit")


def admin_key() -> str:
    """SMEFIN_ADMIN_KEY, or a key generated once for this checkout and kept in var/admin_key."""
    key = os.environ.get("SMEFIN_ADMIN_KEY")
    if key:
        return key
    if ADMIN_KEY_FILE.exists():
        return ADMIN_KEY_FILE.read_text().strip()
    key = "smf_admin_" + secrets.token_urlsafe(32)
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    ADMIN_KEY_FILE.write_text(key + "\n")
    ADMIN_KEY_FILE.chmod(0o600)
    return key


@app.command()
def migrate() -> None:
    """Apply every service's database migrations."""
    stack_mod.migrate_all()
    typer.echo("migrations applied: credit, matching, gateway")


@app.command()
def run(
    demo: bool = typer.Option(True, help="load demo data when the databases have none"),
) -> None:
    """Migrate, start credit, matching and gateway, load demo data, serve until Ctrl-C."""
    key = admin_key()
    env = dict(os.environ, SMEFIN_ADMIN_KEY=key)
    ports = {
        "credit": int(os.environ.get("SMEFIN_CREDIT_PORT", "8001")),
        "matching": int(os.environ.get("SMEFIN_MATCHING_PORT", "8002")),
        "gateway": int(os.environ.get("SMEFIN_GATEWAY_PORT", "8000")),
    }
    busy = [f"{name} :{port}" for name, port in ports.items() if not stack_mod.port_free(port)]
    if busy:
        typer.echo(f"port in use: {', '.join(busy)} (another `make run`?)", err=True)
        raise typer.Exit(1)
    stack_mod.migrate_all()
    # SIGTERM stops the stack like Ctrl-C does, from here on.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    typer.echo("starting credit, matching and gateway (the first start trains a model) ...")
    running = stack_mod.start_stack(env, ports=ports, log_dir=VAR_DIR / "logs")
    gateway = running.url("gateway")
    try:
        if demo and not demo_present(gateway, key, DEMO_STATE_FILE):
            typer.echo("loading demo data through the API ...")
            load_demo(gateway, key, DEMO_STATE_FILE)
        typer.echo(
            "\nsmefin is running\n"
            f"  gateway   {gateway}\n"
            f"  API docs  {gateway}/docs\n"
            f"  admin key {key}\n"
            f"  demo keys {DEMO_STATE_FILE}\n"
            f"  logs      {VAR_DIR / 'logs'}\n"
            "Ctrl-C stops all three services."
        )
        while all(p.poll() is None for p in running.procs.values()):
            time.sleep(0.5)
        dead = [n for n, p in running.procs.items() if p.poll() is not None]
        typer.echo(f"{', '.join(dead)} stopped; see {VAR_DIR / 'logs'}", err=True)
        raise typer.Exit(1)
    except KeyboardInterrupt:
        typer.echo("\nstopping ...")
    finally:
        stack_mod.stop_stack(running)


@app.command()
def demo(
    gateway_url: str = typer.Option("http://127.0.0.1:8000", help="gateway base URL"),
    state_file: Path = typer.Option(DEMO_STATE_FILE, help="where the demo keys are written"),
) -> None:
    """Load demo data into running services through the API."""
    state = load_demo(gateway_url, admin_key(), state_file)
    typer.echo(f"demo loaded: {len(state['platforms'])} platforms; keys in {state_file}")


app.command(name="upload")(upload_command)


@app.command()
def bench(
    quick: bool = typer.Option(False, help="smaller loads, for a smoke run"),
) -> None:
    """Run the benchmarks, print the table and write var/bench/results.json."""
    from services.cli.bench.runner import run_all

    run_all(quick=quick)


if __name__ == "__main__":
    app()
