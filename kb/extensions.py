"""Extension objects, created unbound here and bound to an app in :func:`kb.create_app`.

Keeping them apart from the factory lets models, services and views import them without
importing the app (no import cycles), and lets tests build as many apps as they need.
"""

from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base whose constraint names are stable, so Alembic can alter them later."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
# Batch mode lets later migrations alter SQLite tables (SQLite has no ALTER COLUMN).
migrate = Migrate(render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()
# Limits are declared on the views that need them (sign-in); none apply by default.
limiter = Limiter(key_func=get_remote_address, headers_enabled=True)
# Stored public pages (kb/caching.py); the backend is chosen by KB_CACHE_TYPE.
cache = Cache()
