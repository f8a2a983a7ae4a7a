"""For gunicorn: `gunicorn wsgi:app`."""
from banso import create_app, settle

app = create_app()
settle(app)
