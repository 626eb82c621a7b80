"""massline: the application factory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from massline import config, errors, i18n
from massline.extensions import babel, csrf, db, limiter, migrate
from massline.urls import RowId

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then instance file, then environment, then `test_config`."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config.Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(config.from_environment(os.environ, dict(app.config)))
    if test_config is not None:
        app.config.update(test_config)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(
            app.instance_path, "massline.sqlite"
        )

    app.url_map.converters["int"] = RowId  # before any route is added
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    csrf.init_app(app)
    limiter.init_app(app)
    errors.init_app(app)
    i18n.init_app(app)

    from massline import api, cli, web
    from massline.accounts import current
    from massline.accounts import routes as accounts_routes
    from massline.feasibility import routes as feasibility_routes
    from massline.localities import routes as localities_routes
    from massline.matching import routes as matching_routes
    from massline.notifications import routes as notifications_routes
    from massline.priorities import routes as priorities_routes
    from massline.stages import dashboard_routes as stages_dashboard_routes
    from massline.stages import manage as stages_manage
    from massline.stages import routes as stages_routes
    from massline.stages import wall_routes as stages_wall_routes
    from massline.themes import routes as themes_routes

    current.init_app(app)
    app.register_blueprint(web.bp)
    app.register_blueprint(accounts_routes.bp)
    app.register_blueprint(localities_routes.bp)
    app.register_blueprint(priorities_routes.bp)
    app.register_blueprint(themes_routes.bp)
    app.register_blueprint(feasibility_routes.bp)
    app.register_blueprint(notifications_routes.bp)
    app.register_blueprint(matching_routes.bp)
    app.register_blueprint(stages_routes.bp)
    app.register_blueprint(stages_manage.bp)
    app.register_blueprint(stages_wall_routes.bp)
    app.register_blueprint(stages_dashboard_routes.bp)
    notifications_routes.init_app(app)
    api.init_app(app)
    cli.init_app(app)
    return app
