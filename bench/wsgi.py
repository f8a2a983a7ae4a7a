"""The app as gunicorn serves it in the load benchmark, plus one bare Flask page to compare against."""
import os

from banso import settle
from bench.common import make_app

app = make_app(os.environ["DATABASE_URL"])


@app.get("/bench/bare")
def bare():
    return "ok"


settle(app)  # as wsgi.py does
