"""For gunicorn: `gunicorn wsgi:app`."""
from banso import create_app

app = create_app()
