"""The route table is part of the contract: moving routers around must not add, drop or rename
an operation. ``routes.txt`` is the committed list (``METHOD path operationId`` per line);
change it only together with a route."""

from __future__ import annotations

from pathlib import Path

from ticketbridge.app import create_app
from ticketbridge.config import Settings

ROUTES = Path(__file__).with_name("routes.txt")


def test_the_app_serves_exactly_the_committed_operations(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'routes.db'}",
        data_dir=tmp_path / "data",
        secret_key="Qm9vdHN0cmFwLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmc=",
    )
    paths = create_app(settings).openapi()["paths"]
    served = sorted(
        f"{method.upper()} {path} {op['operationId']}"
        for path, item in paths.items()
        for method, op in item.items()
    )
    assert served == sorted(ROUTES.read_text().split("\n")[:-1])
