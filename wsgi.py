"""WSGI entry point: ``gunicorn -c gunicorn.conf.py`` (``make run``). The only module-level application object."""

from kb import create_app
from kb.serving import RequestId

app = create_app()
# Around Flask's own WSGI callable, so that ``app`` stays the Flask application.
app.wsgi_app = RequestId(app.wsgi_app)
