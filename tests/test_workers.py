"""The server's process module (app/workers.py): what it hands uvicorn, and that it stays light
enough for every spawned worker to import again."""

import subprocess
import sys

from app import workers


def test_config_leaves_forwarded_headers_to_the_app() -> None:
    # uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1 whatever
    # SKM_TRUSTED_PROXIES says.
    config = workers.config(host="127.0.0.1", port=8000, workers=2, healthcheck_seconds=45)
    assert (config.app, config.factory, config.proxy_headers) == (workers.APP, True, False)
    assert (config.workers, config.timeout_worker_healthcheck) == (2, 45)


def test_command_line_runs_this_module_in_this_interpreter() -> None:
    argv = workers.command_line(host="0.0.0.0", port=8080, workers=2, healthcheck_seconds=30)
    assert argv == [
        sys.executable,
        "-m",
        "app.workers",
        "--host=0.0.0.0",
        "--port=8080",
        "--workers=2",
        "--healthcheck-seconds=30",
    ]


def test_importing_the_module_loads_neither_the_cli_nor_the_app() -> None:
    # A spawned worker imports it again before anything else: what it pulls in is paid by
    # every worker start.
    probe = (
        "import sys, app.workers; "
        "print(sorted(m for m in ('app.cli', 'app.main', 'typer', 'alembic', 'fastapi', "
        "'sqlalchemy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout == "[]\n"
