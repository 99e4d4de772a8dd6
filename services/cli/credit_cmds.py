"""`smefin credit ...`: train PD models from outcomes or a CSV, score a CSV, check a score."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.credit import repository, scoring_service
from services.credit.config import CreditSettings
from services.credit.scoring import registry
from services.credit.scoring.estimators import CHALLENGER_KIND, CHAMPION_KIND
from services.credit.scoring.tabular import read_rows, training_set_from_csv, write_with_pd
from services.credit.scoring.training import fit_kinds, register_fits
from shared.db import make_engine
from shared.errors import AppError

credit_app = typer.Typer(help="Credit models: train, predict, reproduce.", no_args_is_help=True)


def _engine(database_url: str | None) -> tuple[Engine, CreditSettings]:
    settings = CreditSettings(database_url=database_url) if database_url else CreditSettings()
    return make_engine(settings.database_url), settings


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@credit_app.command()
def train(
    csv: Path | None = typer.Option(None, exists=True, dir_okay=False, help="CSV of features"),
    label: str | None = typer.Option(None, help="binary label column of --csv"),
    kind: str = typer.Option(CHAMPION_KIND, help=f"{CHAMPION_KIND} or {CHALLENGER_KIND} (CSV)"),
    database_url: str | None = typer.Option(None, help="credit database (default: settings)"),
) -> None:
    """Train from reported loan outcomes, or from any CSV with a binary label column."""
    engine, settings = _engine(database_url)
    try:
        if csv is None:
            records = scoring_service.train_from_outcomes(engine, settings.model_dir)
        else:
            if not label:
                raise _fail("--label NAME is needed with --csv")
            if kind not in (CHAMPION_KIND, CHALLENGER_KIND):
                raise _fail(f"--kind must be {CHAMPION_KIND} or {CHALLENGER_KIND}")
            data = training_set_from_csv(csv, label)
            records = register_fits(engine, settings.model_dir, data, fit_kinds(data, (kind,)))
    except AppError as exc:
        raise _fail(exc.detail) from None
    finally:
        engine.dispose()
    for r in records:
        m = r.metrics
        typer.echo(
            f"{r.version}  auc {m['auc']}  ks {m['ks']}  brier {m['brier']}  "
            f"holdout {m['n']}  status {r.status}"
        )


@credit_app.command()
def predict(
    model: str = typer.Option(..., help="model version"),
    csv: Path = typer.Option(..., exists=True, dir_okay=False, help="CSV of the model's inputs"),
    out: Path = typer.Option(..., help="CSV to write: the same rows with a pd column"),
    database_url: str | None = typer.Option(None, help="credit database (default: settings)"),
) -> None:
    """Score every row of a CSV with a model version; write the rows with a `pd` column."""
    engine, _ = _engine(database_url)
    try:
        with Session(engine) as session:
            record = repository.get_model(session, model)
        if record is None:
            raise _fail(f"model version {model!r} not found")
        loaded = registry.load(record)
        header, rows = read_rows(csv)
        missing = [f for f in loaded.features if f not in header]
        if missing:
            raise _fail(f"{csv} lacks the model's columns: {', '.join(missing)}")
        pd_12m = loaded.predict_pd_matrix(loaded.encode(rows)).tolist() if rows else []
        write_with_pd(out, header, rows, iter(pd_12m))
    finally:
        engine.dispose()
    typer.echo(f"{len(rows)} rows scored by {model} written to {out}")


@credit_app.command()
def reproduce(
    score_id: int = typer.Argument(..., help="id of a stored score"),
    database_url: str | None = typer.Option(None, help="credit database (default: settings)"),
) -> None:
    """Recompute a stored score from its stored inputs with the model version that made it."""
    engine, _ = _engine(database_url)
    try:
        result = scoring_service.reproduce_score(engine, score_id)
    except AppError as exc:
        raise _fail(exc.detail) from None
    finally:
        engine.dispose()
    typer.echo(result.model_dump_json(indent=2))
    if not result.matches:
        raise typer.Exit(1)
